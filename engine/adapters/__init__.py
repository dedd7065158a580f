"""The adapters: the only doors to git (GitPython) and tmux (libtmux).

Nothing outside this package imports `git`, `libtmux` or runs either program itself
(tests/test_boundaries.py checks it).
"""
