#!/usr/bin/env python3
"""Synthetic persona event logs with known effects, for t/report.t.

    gen.py DIR [VISITORS]

writes DIR/events.log (event schema 2, as the module writes it) and
DIR/v1.log (schema 1, as earlier versions wrote it).  The same arguments
give the same bytes: the random generator is seeded.

What the logs hold, so that the test knows what the report must find:

- hero: control/winter at 50/50, a 2 point lift (10% -> 12% plus the
  other effects);
- checkout: variant_index 0 is "old", 1 is "new" (the first by name is not
  the control), half the traffic, no effect;
- split: big/small configured 70/30 and split so: no sample ratio
  mismatch when the weights of the events are used, one when they are not;
- srm: a/b configured 50/50, split 55/45: a mismatch;
- mvt: a 2x2 factorial (headline x image), cells named
  "headline=benefit;image=photo", with an interaction: only feature+drawing
  converts better;
- greeting: a content set with the rules "vip" and "2" and a holdout of
  about 20% of the visitors; "vip" lifts conversion, "2" does not;
- conversions at the very millisecond of the first exposure, conversions
  before any exposure (they must not count), conversions carrying the
  channel of the visit (entry_channel) while the beacon's channel is
  direct;
- visitors who log in: exposures under an anonymous id, then under their
  user id with "anonymous_id", some through a link id first (a chain);
- preview traffic (preview: true) that must be left out;
- in v1.log, the "legacy" experiment in schema 1: no "v", no weights, no
  entry_channel.
"""

import json
import os
import random
import sys
import time

BASE = 1796083200                   # 2026-12-01T00:00:00Z

CHANNELS = ["email", "search", "social", "paid", "referral", "direct"]
MVT = [("benefit", "photo"), ("benefit", "drawing"), ("feature", "photo"),
       ("feature", "drawing")]
MVT_BONUS = {("benefit", "photo"): 0.0, ("benefit", "drawing"): 0.0,
             ("feature", "photo"): 0.0, ("feature", "drawing"): 0.06}


def ts(sec):
    ms = int(round(sec * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(BASE + ms // 1000)) \
        + ".%03dZ" % (ms % 1000)


def line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.out = []
        self.req = 0

    def rid(self):
        self.req += 1
        return "%032x" % self.req

    def head(self, when, event, vid, anon):
        e = {"v": 2, "ts": ts(when), "event": event, "id": vid}
        if anon:
            e["anonymous_id"] = anon
        return e

    def tail(self, e, ctx, uri, channel=None):
        e.update({"segments": ctx["segments"], "country": ctx["country"],
                  "device": ctx["device"],
                  "channel": channel or ctx["channel"], "uri": uri,
                  "request_id": self.rid()})
        return e

    def exposure(self, when, vid, ctx, exp, var, idx, weight, traffic=1.0,
                 factors=None, anon=None, uri="/", preview=False):
        e = self.head(when, "exposure", vid, anon)
        e.update({"experiment": exp, "variant": var, "variant_index": idx,
                  "weight": weight, "traffic": traffic,
                  "holdout": ctx["holdout"]})
        if factors:
            e["factors"] = factors
        self.tail(e, ctx, uri)
        if preview:
            e["preview"] = True
        self.out.append((when, line(e)))

    def content(self, when, vid, ctx, name, rule, uri="/"):
        e = self.head(when, "exposure", vid, None)
        e.update({"content": name, "rule": rule, "holdout": ctx["holdout"]})
        self.out.append((when, line(self.tail(e, ctx, uri))))

    def conversion(self, when, vid, ctx, goal, value, assignments,
                   preview=False):
        e = self.head(when, "conversion", vid, None)
        e["goal"] = goal
        if value is not None:
            e["value"] = value
        e["assignments"] = assignments
        e["entry_channel"] = ctx["channel"]
        if ctx["holdout"]:
            e["holdout"] = True
        # the beacon request itself comes from the page: direct
        self.tail(e, ctx, "/persona/convert", channel="direct")
        if preview:
            e["preview"] = True
        self.out.append((when, line(e)))

    def visitor(self, i):
        r = self.r
        t = r.random() * 86400
        vip = r.random() < 0.25
        ctx = {"segments": ["vip"] if vip else [],
               "country": r.choice(["FR", "DE", "BE"]),
               "device": r.choice(["desktop", "mobile", "tablet"]),
               "channel": r.choice(CHANNELS),
               "holdout": r.random() < 0.2}

        # some visitors arrive anonymous and log in later; a few came
        # through a link id first, then logged in
        login = r.random() < 0.06
        link = login and r.random() < 0.25
        ids = ["anon%d" % i, "link%d" % i, "u%d" % i] if link else \
            ["anon%d" % i, "u%d" % i] if login else ["v%d" % i]

        hero = "winter" if r.random() < 0.5 else "control"
        checkout = None
        if r.random() < 0.5:
            checkout = "new" if r.random() < 0.5 else "old"
        split = "small" if r.random() < 0.3 else "big"
        srm = "b" if r.random() < 0.45 else "a"
        cell = r.randrange(4)
        headline, image = MVT[cell]
        rule = "vip" if vip else ("2" if ctx["country"] == "FR" else None)

        # a conversion before the visitor ever saw anything
        if r.random() < 0.02:
            self.conversion(t - 100, ids[0], ctx, "purchase", 10.0, {})

        def page(when, vid, uri):
            self.exposure(when, vid, ctx, "hero", hero,
                          0 if hero == "control" else 1, 0.5, uri=uri)
            if checkout:
                self.exposure(when, vid, ctx, "checkout", checkout,
                              0 if checkout == "old" else 1, 0.5,
                              traffic=0.5, uri=uri)
            self.exposure(when, vid, ctx, "split", split,
                          0 if split == "big" else 1,
                          0.3 if split == "small" else 0.7, uri=uri)
            self.exposure(when, vid, ctx, "srm", srm,
                          0 if srm == "a" else 1, 0.5, uri=uri)
            self.exposure(when, vid, ctx, "mvt",
                          "headline=%s;image=%s" % (headline, image), cell,
                          0.25, factors={"headline": headline,
                                         "image": image}, uri=uri)
            if rule:
                self.content(when, vid, ctx, "greeting", rule, uri=uri)

        # the first page: every line carries the id of the visitor then;
        # the line that first carries a replacing id names the one it
        # replaced
        page(t, ids[0], "/")
        when = t
        for k in range(1, len(ids)):
            # the new id has its own variant: the hash of another id
            when += 30 + r.random() * 600
            again = "winter" if r.random() < 0.5 else "control"
            self.exposure(when, ids[k], ctx, "hero", again,
                          0 if again == "control" else 1, 0.5,
                          anon=ids[k - 1], uri="/account")
        if r.random() < 0.2:
            page(when + 50, ids[-1], "/cart")

        p = (0.08 + (0.02 if hero == "winter" else 0.0)
             + MVT_BONUS[(headline, image)]
             + (0.06 if rule == "vip" and not ctx["holdout"] else 0.0))
        if r.random() < p:
            # a quarter of the conversions in the millisecond of the first
            # exposure (the request that showed the page converted)
            ct = t if r.random() < 0.25 else when + 60 + r.random() * 3000
            who = ids[-1] if ct > when else ids[0]
            goal = "purchase" if r.random() < 0.8 else "signup"
            value = round(r.random() * 100, 2) if goal == "purchase" \
                else None
            self.conversion(ct, who, ctx, goal, value,
                            {"hero": hero, "srm": srm})

        # a colleague previewing another variant: left out
        if r.random() < 0.01:
            pid = "p%d" % i
            self.exposure(t + 5, pid, ctx, "hero", "winter", 1, 0.5,
                          preview=True)
            self.conversion(t + 9, pid, ctx, "purchase", 20.0, {},
                            preview=True)

    def legacy(self, i):
        """A visitor in schema 1."""
        r = self.r
        t = r.random() * 86400
        vid = "l%d" % i
        var = "b" if r.random() < 0.5 else "control"
        ch = r.choice(CHANNELS)
        exp = {"ts": ts(t), "event": "exposure", "id": vid,
               "experiment": "legacy", "variant": var, "segments": [],
               "country": "FR", "device": "desktop", "channel": ch,
               "uri": "/", "request_id": self.rid()}
        self.out.append((t, line(exp)))
        if r.random() < (0.15 if var == "b" else 0.10):
            ct = t if r.random() < 0.25 else t + 60 + r.random() * 3000
            conv = {"ts": ts(ct), "event": "conversion", "id": vid,
                    "goal": "purchase", "value": 5,
                    "assignments": {"legacy": var}, "segments": [],
                    "country": "FR", "device": "desktop",
                    "channel": "direct", "uri": "/persona/convert",
                    "request_id": self.rid()}
            self.out.append((ct, line(conv)))

    def write(self, path, noise=()):
        # in time order, as a log is; lines of one instant keep the order
        # in which they were made
        self.out.sort(key=lambda x: x[0])
        with open(path, "w", encoding="utf-8") as f:
            for _, s in self.out:
                f.write(s + "\n")
            for s in noise:
                f.write(s + "\n")
        self.out = []


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: gen.py DIR [VISITORS]")
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    g = Gen(20261201)
    for i in range(1, n + 1):
        g.visitor(i)
    g.write(os.path.join(out, "events.log"),
            noise=["not json", '{"broken": ', "[1,2,3]"])
    for i in range(1, n // 4 + 1):
        g.legacy(i)
    g.write(os.path.join(out, "v1.log"))


if __name__ == "__main__":
    main()
