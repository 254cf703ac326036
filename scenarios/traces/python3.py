# A small object-heavy workload: records built as dicts, grouped, sorted,
# serialised to JSON and parsed back.
import json

records = [{"id": i, "name": "user%05d" % ((i * 7919) % 10007), "tags": ["t%d" % (i % 7), "g%d" % (i % 13)],
            "score": (i * 2654435761) % 1000 / 10.0} for i in range(3000)]
groups = {}
for r in records:
    groups.setdefault(r["tags"][0], []).append(r)
ranked = sorted(records, key=lambda r: (-r["score"], r["name"]))[:500]
text = json.dumps({"groups": {k: len(v) for k, v in groups.items()}, "top": ranked})
back = json.loads(text)
words = {}
for r in back["top"]:
    for w in r["name"].split("0"):
        words[w] = words.get(w, 0) + 1
print(len(text), len(back["top"]), len(words))
