"""Instructors' tools: the student version of the lessons (``assign``) and the grader that runs
every submission in a fresh kernel of its own (``grade``); see docs/instructors.md.

Nothing is imported here: ``rnncourse.grading.sandbox`` runs before a grading kernel starts and
must not pull in more than the standard library.
"""
