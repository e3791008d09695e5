"""Cosine scores of example claim pairs from the running worker (POST /similar):
the evidence behind the "same fact restated" threshold in the README.

    python3 facts-worker/tools/similarity_table.py [http://127.0.0.1:8010]
"""

import json
import sys
import urllib.request

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8010"
PAIRS = [
    ("restated", "We will hire 20 engineers in Q4", "The company plans to hire approximately 20 engineers in the fourth quarter"),
    ("restated", "Revenue for Q3 was $2.1M", "Third-quarter revenue came in at 2.1 million dollars"),
    ("restated", "The acquisition is expected to close on March 31", "Closing of the acquisition is planned for the end of March"),
    ("restated", "Customer churn rose to 4.2% last month", "Last month the churn rate increased to 4.2 percent"),
    ("restated", "The Frankfurt data centre lease expires in 2027", "Our lease on the data center in Frankfurt runs out in 2027"),
    ("restated", "A former distributor is suing us for EUR 1.5 million", "There is a pending lawsuit by an ex-distributor claiming 1.5M euros in damages"),
    ("restated", "Gross margin was 62% in 2023", "In 2023 the gross margin stood at 62 percent"),
    ("restated", "The CFO resigned in January", "In January the chief financial officer stepped down"),
    ("restated", "Headcount is 120 employees", "The company employs 120 people"),
    ("restated", "The largest customer accounts for 30% of sales", "Thirty percent of revenue comes from a single biggest client"),
    ("same subject, other value", "We will hire 20 engineers in Q4", "We will hire 35 engineers in Q4"),
    ("same subject, other value", "Revenue for Q3 was $2.1M", "Revenue for Q3 was $3.4M"),
    ("same subject, other value", "The acquisition is expected to close on March 31", "The acquisition is expected to close on June 30"),
    ("same subject, other value", "Gross margin was 62% in 2023", "Gross margin was 48% in 2023"),
    ("negated", "We will hire 20 engineers in Q4", "We will not hire any engineers in Q4"),
    ("related, different fact", "We will hire 20 engineers in Q4", "Engineering headcount is currently 85"),
    ("related, different fact", "Revenue for Q3 was $2.1M", "Revenue for Q2 was $1.8M"),
    ("related, different fact", "Customer churn rose to 4.2% last month", "Net revenue retention is 112%"),
    ("unrelated", "We will hire 20 engineers in Q4", "Revenue for Q3 was $2.1M"),
    ("unrelated", "The company plans to hire approximately 20 engineers in the fourth quarter", "Revenue for Q3 was $2.1M"),
    ("unrelated", "The Frankfurt data centre lease expires in 2027", "A former distributor is suing us for EUR 1.5 million"),
    ("unrelated", "Customer churn rose to 4.2% last month", "The acquisition is expected to close on March 31"),
    ("unrelated", "Gross margin was 62% in 2023", "Our lease on the data center in Frankfurt runs out in 2027"),
    ("unrelated", "The CFO resigned in January", "Headcount is 120 employees"),
]


def score(a: str, b: str) -> float:
    req = urllib.request.Request(f"{URL}/similar", json.dumps({"queries": [a], "candidates": [b]}).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["scores"][0][0]


by_kind: dict[str, list[float]] = {}
for kind, a, b in PAIRS:
    s = score(a, b)
    by_kind.setdefault(kind, []).append(s)
    print(f"{s:.3f}  {kind:26s} {a}  |  {b}")
print()
for kind, v in by_kind.items():
    print(f"{kind:26s} n={len(v):2d}  min {min(v):.3f}  max {max(v):.3f}")
