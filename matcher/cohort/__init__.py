"""Cohort screening: the compiled criteria as SQL over whole cohorts (issue 5)."""
