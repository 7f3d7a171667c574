"""ISO 3166-1 alpha-2 country codes, checked in.

Generated from pycountry 26.2.16 (the Debian iso-codes data it ships): the whole
package is about 21 MB installed, too much for a Lambda layer that needs 249 codes.
tests/unit/test_edge_facts.py compares this list with the installed pycountry (a development
requirement), so a newer pycountry that adds or retires a code fails the test, which prints
the list to paste here.

Aliases: codes people write that ISO does not assign to a country, mapped to the one they
mean. "UK" (exceptionally reserved by ISO for the United Kingdom) is GB; "EL" (the EU's code
for Greece) is GR. Anything else outside the list, such as "EU", "ZZ" or "XK", is refused.
"""

from __future__ import annotations

_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2: frozenset[str] = frozenset(_CODES.split())

COUNTRY_ALIASES: dict[str, str] = {"UK": "GB", "EL": "GR"}


def country_code(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code ``value`` names (aliases resolved, case and surrounding
    spaces ignored), or None when it names no country."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if code in ISO_3166_ALPHA2 else None
