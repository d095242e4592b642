"""Web-app support: what the Streamlit pages need beyond the scoring core.

Admin sign-in (:mod:`webapp.auth`), the training-job supervisor and its views
(:mod:`webapp.jobs`, :mod:`webapp.job_view`, :mod:`webapp.data_root`), figures and
reports. Imports :mod:`detector`; never TensorFlow and never Streamlit at module top
(the pages are the only Streamlit code), so each helper stays testable alone.
"""
