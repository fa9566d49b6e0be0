"""Studies: configurations x seeds, trained, evaluated and reported by one resumable, shardable run.

Modules: `study_file` (the gin study file: configurations, seeds, evaluation options, declared
comparisons), `runner` (`run_study`, the library side of `launch/study.py`), `launcher_process`
(each training and evaluation in a fresh process, logged, SIGTERM passed on).
"""

from spreadtf.studies.runner import run_study
from spreadtf.studies.study_file import Configuration
from spreadtf.studies.study_file import Study
from spreadtf.studies.study_file import load_study

__all__ = ['run_study', 'load_study', 'Study', 'Configuration']
