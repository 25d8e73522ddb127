"""Independent statements of the model's daily rules, vectorised in numpy, for tests to check the kernels against.

They are written for reading, not speed, and no run calls them.
"""
