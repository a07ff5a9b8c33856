"""Interactive explorers: ipywidgets controls driving plotly FigureWidgets, one module a lesson.

Each explorer is a class whose ``widget`` attribute is the box to display (displaying the
explorer itself works too). Every control carries a stable CSS class ``rnncourse-<explorer>-<name>``
so browser tests can find it, and every callback updates its figure in place inside
``fig.batch_update()``. Modules are imported by the lesson that needs them, not here, so that
importing one explorer never pulls in the others.
"""
