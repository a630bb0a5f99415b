"""The ops manager's written routine, drafted from the published marts (issue #8, job post "How we work"):
a daily standup, a weekly KPI report and a monthly optimisation note, as Markdown and HTML in var/reports/,
e-mailed when SMTP is configured (the alert e-mail settings).

Each report is built from `serving.duckdb` (what analysts and the dashboard see) with short read-only
connections; `Report.figures` holds every number the text states, so tests compare them with the marts.
"""
