"""The candidate-facing pages: preference centre, unsubscribe confirmation, and their errors.

Static templates written by engineers (not the marketing catalogue), autoescaped; every value
that comes from data is escaped. The pages need no script: a plain form post works in every
browser and with assistive technology, and the layout is one fluid column.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{% block title %}{% endblock %} - {{ brand.company_name }}</title>
<style>
  :root { color-scheme: light dark; --fg:#1f2937; --muted:#4b5563; --bg:#f3f4f6; --card:#fff;
          --accent:#1d4ed8; --ok-bg:#ecfdf5; --ok-fg:#065f46; --err-bg:#fef2f2; --err-fg:#991b1b;
          --line:#d1d5db; }
  @media (prefers-color-scheme: dark) {
    :root { --fg:#e5e7eb; --muted:#a3aab6; --bg:#0f1115; --card:#1a1d23; --accent:#8ab4ff;
            --ok-bg:#0b2e24; --ok-fg:#a7f3d0; --err-bg:#3b1212; --err-fg:#fecaca; --line:#2d323b; }
  }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--fg);
         font:16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
  header, main, footer { max-width: 40rem; margin: 0 auto; padding: 1rem; }
  header { font-weight: 700; font-size: 1.1rem; }
  main { background: var(--card); border-radius: 8px; padding: 1.5rem; }
  h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 1rem; }
  p { margin: 0 0 1rem; }
  a { color: var(--accent); }
  fieldset { border: 0; margin: 0 0 1.5rem; padding: 0; }
  legend { font-weight: 700; margin-bottom: .5rem; padding: 0; }
  .purpose { display: flex; gap: .75rem; align-items: flex-start; padding: .9rem 0;
             border-top: 1px solid var(--line); }
  .purpose input { width: 1.5rem; height: 1.5rem; margin: .15rem 0 0; flex: none; }
  .purpose label { font-weight: 600; cursor: pointer; }
  .purpose .hint, .state { display: block; color: var(--muted); font-size: .95rem; }
  .state { font-weight: 600; }
  button { font: inherit; font-weight: 700; color: #fff; background: #1d4ed8; border: 0;
           border-radius: 6px; padding: .75rem 1.5rem; min-height: 44px; cursor: pointer; }
  button:focus-visible, a:focus-visible, input:focus-visible {
           outline: 3px solid #f59e0b; outline-offset: 2px; }
  .notice { border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; }
  .ok { background: var(--ok-bg); color: var(--ok-fg); }
  .error { background: var(--err-bg); color: var(--err-fg); }
  footer { color: var(--muted); font-size: .9rem; }
  @media (max-width: 480px) { main { border-radius: 0; padding: 1rem; } button { width: 100%; } }
</style>
</head>
<body>
<header>{{ brand.company_name }} Careers</header>
<main id="main">
{% block main %}{% endblock %}
</main>
<footer><p>{{ brand.company_name }} &middot; {{ brand.postal_address }}</p></footer>
</body>
</html>
"""

_PREFERENCES = """{% extends "base.html" %}
{% block title %}Email preferences{% endblock %}
{% block main %}
<h1>Your email preferences</h1>
{% if saved %}
<div class="notice ok" role="status" aria-live="polite" id="saved">
  <strong>Your preferences are saved.</strong>
  {% if changes %}
  {% for c in changes %}
  {{ titles[c.purpose] }}: {{ "on" if c.status == "granted" else "off" }}
  {{- "; " if not loop.last else "." }}
  {% endfor %}
  {% else %}Nothing needed to change.{% endif %}
</div>
{% endif %}
<p>Choose what we may email you about. You can change this at any time.</p>
<form method="post" action="?token={{ token | urlencode }}">
  <input type="hidden" name="form" value="preferences">
  <fieldset>
    <legend>Emails from {{ brand.company_name }}</legend>
    {% for p in purposes %}
    <div class="purpose">
      <input type="checkbox" id="p-{{ p.purpose }}" name="{{ p.purpose }}" value="on"
             aria-describedby="h-{{ p.purpose }} s-{{ p.purpose }}" {{ "checked" if p.on }}>
      <div>
        <label for="p-{{ p.purpose }}">{{ p.title }}</label>
        <span class="hint" id="h-{{ p.purpose }}">{{ p.description }}</span>
        <span class="state" id="s-{{ p.purpose }}" data-state="{{ "on" if p.on else "off" }}">
          {%- if p.on %}Currently on{% else %}Currently off{% endif %}
          {%- if p.renew and p.lapses_at %} &middot; your permission lapses on
          {{ p.lapses_at.day }} {{ p.lapses_at.strftime("%B %Y") }}: save with this on to keep
          it{% endif -%}
        </span>
      </div>
    </div>
    {% endfor %}
  </fieldset>
  <button type="submit">Save preferences</button>
</form>
{% endblock %}
"""

_UNSUBSCRIBE = """{% extends "base.html" %}
{% block title %}Unsubscribe{% endblock %}
{% block main %}
{% if done %}
<h1>You are unsubscribed</h1>
<div class="notice ok" role="status" aria-live="polite" id="saved">
  We will not email you about {{ label }} any more.
</div>
<p>Changed your mind, or want fewer emails of another kind?
   <a href="preferences?token={{ token | urlencode }}">Manage your email preferences</a>.</p>
{% else %}
<h1>Unsubscribe from {{ label }}?</h1>
<p>Press the button to stop emails about {{ label }}. Other emails you agreed to are not
   affected; you can change those in your
   <a href="preferences?token={{ token | urlencode }}">email preferences</a>.</p>
<form method="post" action="?token={{ token | urlencode }}">
  <input type="hidden" name="List-Unsubscribe" value="One-Click">
  <button type="submit">Unsubscribe</button>
</form>
{% endif %}
{% endblock %}
"""

_ERROR = """{% extends "base.html" %}
{% block title %}Link not valid{% endblock %}
{% block main %}
<h1>{{ title }}</h1>
<div class="notice error" role="alert">{{ message }}</div>
<p>Links in our emails stop working after a while. The link in a newer email from us will
   work, or ask us at {{ brand.sender_address }}.</p>
{% endblock %}
"""


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                "base.html": _BASE,
                "preferences.html": _PREFERENCES,
                "unsubscribe.html": _UNSUBSCRIBE,
                "error.html": _ERROR,
            }
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(name: str, **context: Any) -> str:
    return _environment().get_template(f"{name}.html").render(**context)
