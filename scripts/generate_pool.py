"""Generate the sample talent pool: realistic, fictitious candidates as an ATS export would give
them, deterministically (same seed, same files).

    python scripts/generate_pool.py [--count 10000] [--csv-count 200] [--seed 20261101]

Writes data/sample-pool.jsonl and data/sample-pool.csv. Every address is under the reserved
example.com / example.org / example.net domains. About one row in two hundred is bad on
purpose (an unknown seniority, an impossible date, an unknown column, a wrong type, a missing
identity, an invalid address, an unknown consent value, a time without offset), and some
candidates appear twice, later or earlier, as exports do: the import's report and the merge
rules have something to show.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = datetime(2026, 11, 1, tzinfo=UTC)  # the export's time; observations are before it

# country -> (weight, language, [(city, timezone)], first names, last names)
COUNTRIES: dict[str, tuple[int, str, list[tuple[str, str]], list[str], list[str]]] = {
    "DE": (
        18,
        "de-DE",
        [
            ("Berlin", "Europe/Berlin"),
            ("Munich", "Europe/Berlin"),
            ("Hamburg", "Europe/Berlin"),
            ("Cologne", "Europe/Berlin"),
            ("Frankfurt", "Europe/Berlin"),
        ],
        ["Lena", "Jonas", "Lea", "Felix", "Anna", "Lukas", "Marie", "Paul", "Sophie", "Jan"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann"],
    ),
    "GB": (
        14,
        "en-GB",
        [
            ("London", "Europe/London"),
            ("Manchester", "Europe/London"),
            ("Edinburgh", "Europe/London"),
            ("Bristol", "Europe/London"),
        ],
        ["Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Jack"],
        ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas"],
    ),
    "FR": (
        8,
        "fr-FR",
        [("Paris", "Europe/Paris"), ("Lyon", "Europe/Paris"), ("Toulouse", "Europe/Paris")],
        ["Louise", "Gabriel", "Jade", "Raphaël", "Emma", "Léo", "Chloé", "Hugo"],
        ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"],
    ),
    "NL": (
        6,
        "nl-NL",
        [
            ("Amsterdam", "Europe/Amsterdam"),
            ("Rotterdam", "Europe/Amsterdam"),
            ("Utrecht", "Europe/Amsterdam"),
        ],
        ["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Milan", "Sara"],
        ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
    ),
    "ES": (
        6,
        "es-ES",
        [
            ("Madrid", "Europe/Madrid"),
            ("Barcelona", "Europe/Madrid"),
            ("Valencia", "Europe/Madrid"),
        ],
        ["Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Leo", "Paula", "Daniel"],
        ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez"],
    ),
    "PT": (
        4,
        "pt-PT",
        [("Lisbon", "Europe/Lisbon"), ("Porto", "Europe/Lisbon")],
        ["Maria", "João", "Beatriz", "Francisco", "Inês", "Tomás", "Leonor", "Duarte"],
        ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues"],
    ),
    "IE": (
        3,
        "en-IE",
        [("Dublin", "Europe/Dublin"), ("Cork", "Europe/Dublin")],
        ["Jack", "Grace", "James", "Emily", "Conor", "Aoife", "Seán", "Niamh"],
        ["Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien"],
    ),
    "PL": (
        5,
        "pl-PL",
        [("Warsaw", "Europe/Warsaw"), ("Kraków", "Europe/Warsaw"), ("Wrocław", "Europe/Warsaw")],
        ["Zuzanna", "Antoni", "Julia", "Jan", "Maja", "Aleksander", "Hanna", "Franciszek"],
        ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski"],
    ),
    "SE": (
        3,
        "sv-SE",
        [("Stockholm", "Europe/Stockholm"), ("Gothenburg", "Europe/Stockholm")],
        ["Alice", "William", "Maja", "Hugo", "Elsa", "Lucas", "Astrid", "Oscar"],
        ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson"],
    ),
    "CH": (
        3,
        "de-CH",
        [("Zürich", "Europe/Zurich"), ("Basel", "Europe/Zurich")],
        ["Mia", "Noah", "Emma", "Liam", "Lina", "Luca", "Elena", "Leon"],
        ["Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Brunner"],
    ),
    "US": (
        16,
        "en-US",
        [
            ("New York", "America/New_York"),
            ("San Francisco", "America/Los_Angeles"),
            ("Austin", "America/Chicago"),
            ("Seattle", "America/Los_Angeles"),
            ("Chicago", "America/Chicago"),
            ("Boston", "America/New_York"),
        ],
        ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Maya"],
        ["Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Lee"],
    ),
    "CA": (
        4,
        "en-CA",
        [
            ("Toronto", "America/Toronto"),
            ("Vancouver", "America/Vancouver"),
            ("Montreal", "America/Toronto"),
        ],
        ["Charlotte", "Benjamin", "Chloé", "William", "Emily", "Ethan", "Léa", "Owen"],
        ["Tremblay", "Roy", "Gagnon", "MacDonald", "Wong", "Campbell", "Singh"],
    ),
    "IN": (
        7,
        "en-IN",
        [("Bengaluru", "Asia/Kolkata"), ("Pune", "Asia/Kolkata"), ("Hyderabad", "Asia/Kolkata")],
        ["Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Saanvi", "Reyansh", "Isha"],
        ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Kumar", "Rao"],
    ),
    "BR": (
        3,
        "pt-BR",
        [("São Paulo", "America/Sao_Paulo"), ("Rio de Janeiro", "America/Sao_Paulo")],
        ["Miguel", "Helena", "Arthur", "Alice", "Heitor", "Laura", "Théo", "Valentina"],
        ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Almeida"],
    ),
}

ROLE_FAMILIES: dict[str, tuple[int, list[str]]] = {
    "software_engineering": (
        30,
        [
            "python",
            "go",
            "java",
            "typescript",
            "react",
            "kubernetes",
            "aws",
            "postgresql",
            "rust",
            "terraform",
        ],
    ),
    "data": (
        15,
        ["python", "sql", "spark", "dbt", "airflow", "statistics", "pytorch", "snowflake"],
    ),
    "product": (8, ["discovery", "roadmapping", "analytics", "user research", "a/b testing"]),
    "design": (7, ["figma", "user research", "prototyping", "design systems", "accessibility"]),
    "sales": (12, ["enterprise sales", "negotiation", "salesforce", "saas", "prospecting"]),
    "marketing": (8, ["seo", "content", "campaigns", "hubspot", "brand", "analytics"]),
    "customer_success": (8, ["onboarding", "renewals", "zendesk", "saas", "training"]),
    "finance": (5, ["fp&a", "excel", "ifrs", "forecasting", "sap"]),
    "people": (4, ["recruiting", "employer branding", "workday", "l&d"]),
    "operations": (3, ["process design", "vendor management", "lean", "logistics"]),
}
SENIORITY = {
    "intern": 3,
    "junior": 20,
    "mid": 35,
    "senior": 25,
    "lead": 10,
    "principal": 5,
    "executive": 2,
}
DOMAINS = ("example.com", "example.org", "example.net")


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _pick(rnd: random.Random, weights: dict[str, int]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def candidate(rnd: random.Random, n: int) -> dict[str, Any]:
    country = _pick(rnd, {c: v[0] for c, v in COUNTRIES.items()})
    _, language, cities, firsts, lasts = COUNTRIES[country]
    city, timezone = rnd.choice(cities)
    first, last = rnd.choice(firsts), rnd.choice(lasts)
    role = _pick(rnd, {r: v[0] for r, v in ROLE_FAMILIES.items()})
    skills = rnd.sample(
        ROLE_FAMILIES[role][1], k=rnd.randint(2, min(5, len(ROLE_FAMILIES[role][1])))
    )
    # Most observations are recent; one in five is older than the freshness windows.
    age = rnd.randint(1, 150) if rnd.random() < 0.8 else rnd.randint(200, 700)
    observed = REFERENCE - timedelta(days=age, minutes=rnd.randint(0, 1439))
    row: dict[str, Any] = {
        "ref": f"ats:A-{100000 + n}",
        "email": f"{_ascii(first)}.{_ascii(last)}.{n}@{DOMAINS[n % 3]}",
        "observed_at": _time(observed),
        "first_name": first,
        "last_name": last,
        "city": city,
        "country": country,
        "seniority": _pick(rnd, SENIORITY),
        "role_family": role,
        "skills": skills,
        "language": language,
        "timezone": timezone,
    }
    for column, share_granted, share_withdrawn in (
        ("consent_job_alerts", 0.55, 0.05),
        ("consent_marketing", 0.35, 0.05),
        ("consent_events", 0.30, 0.03),
    ):
        roll = rnd.random()
        if roll < share_granted:
            row[column] = "granted"
        elif roll < share_granted + share_withdrawn:
            row[column] = "withdrawn"
    if rnd.random() < 0.08:
        del row["timezone"]  # exports are incomplete
    return row


BAD = (
    ("seniority", lambda r: r.update(seniority="staff")),
    ("date", lambda r: r.update(observed_at="2026-02-30T09:00:00Z")),
    ("column", lambda r: r.update(salary_expectation="85000")),
    ("country", lambda r: r.update(country="Germany")),
    ("identity", lambda r: (r.pop("ref"), r.pop("email"))),
    ("email", lambda r: r.update(email=r["email"].replace("@", "(at)"))),
    ("consent", lambda r: r.update(consent_job_alerts="yes")),
    ("offset", lambda r: r.update(observed_at=r["observed_at"][:19].replace("T", " "))),
    ("skills", lambda r: r.update(skills=", ".join(r["skills"]))),
)


def _again(rnd: random.Random, earlier: dict[str, Any]) -> dict[str, Any] | None:
    country = earlier.get("country")
    if not (earlier.get("ref") and earlier.get("email")) or country not in COUNTRIES:
        return None
    try:
        at = datetime.fromisoformat(str(earlier["observed_at"]))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    shift = timedelta(days=rnd.randint(5, 60))
    when = min(at + shift, REFERENCE) if rnd.random() < 0.5 else at - shift
    return {
        "ref": earlier["ref"],
        "email": earlier["email"],
        "observed_at": _time(when),
        "city": rnd.choice(COUNTRIES[str(country)][2])[0],
        "seniority": _pick(rnd, SENIORITY),
    }


def rows(count: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    n = 0
    while len(out) < count:
        n += 1
        row = candidate(rnd, n)
        roll = rnd.random()
        if roll < 0.005:
            _, spoil = BAD[rnd.randrange(len(BAD))]
            spoil(row)
        elif roll < 0.04 and out:
            # The same candidate again, as another export line: later (moved city or new
            # seniority) or earlier (a stale line that must not undo the newer one).
            again = _again(rnd, rnd.choice(out))
            row = again or row
        out.append(row)
    return out


def write_jsonl(path: Path, data: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in data:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


CSV_COLUMNS = [
    "ref",
    "email",
    "observed_at",
    "first_name",
    "last_name",
    "city",
    "country",
    "seniority",
    "role_family",
    "skills",
    "language",
    "timezone",
    "consent_job_alerts",
    "consent_marketing",
    "consent_events",
]


def write_csv(path: Path, data: list[dict[str, Any]]) -> None:
    extra = sorted({k for r in data for k in r} - set(CSV_COLUMNS))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS + extra)
        writer.writeheader()
        for row in data:
            cells = dict(row)
            if isinstance(cells.get("skills"), list):
                cells["skills"] = ";".join(cells["skills"])
            writer.writerow(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--csv-count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--out", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "sample-pool.jsonl", rows(args.count, args.seed))
    write_csv(args.out / "sample-pool.csv", rows(args.csv_count, args.seed + 1))
    print(f"wrote {args.count} rows to sample-pool.jsonl, {args.csv_count} to sample-pool.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
