"""rnncourse: the code behind an interactive course on recurrent neural networks.

The lessons in ``notebooks/`` stay short because the heavy lifting lives here: reference cells in
numpy and torch, backpropagation through time by hand, gradient checks, exercise checks, widgets
and plots.
"""

__version__ = "0.2.0"
