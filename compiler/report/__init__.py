"""Stage 10, report: a simulation report (the ``--report`` JSON dict) → a page people read.

``render_html(report) -> str`` gives one self-contained HTML file: inline CSS, charts drawn
here as SVG, a small inline script for the filterable examples table, nothing fetched. It
reads only the report dict, so the page and the JSON cannot disagree. May import every
earlier stage; never ``cli``.
"""

from compiler.report.html import render_html

__all__ = ["render_html"]
