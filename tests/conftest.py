"""pytest configuration: this folder goes on ``sys.path`` (rootdir conftest), so tests
import shared helpers as ``support`` and the reference model as ``reference.*``.

Only this one conftest.py exists in the tree; fixtures shared by several folders live
here, helpers in ``support.py``.
"""
