"""Web-app support: what the Streamlit pages need beyond the scoring core.

Admin sign-in (:mod:`webapp.auth`), the training-job supervisor (:mod:`webapp.jobs`,
with :mod:`webapp.processes`, :mod:`webapp.job_records` and :mod:`webapp.job_commands`)
and its views (:mod:`webapp.job_view`, :mod:`webapp.data_root`), figures and reports.
Imports :mod:`detector` and only the TensorFlow-free train modules (``train.config``,
``train.schema``, ``train.events``); never TensorFlow and never Streamlit at module top
(the pages are the only Streamlit code), so each helper stays testable alone.
"""
