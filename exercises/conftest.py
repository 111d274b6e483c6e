"""pytest/nbval in exercises/: run the solution notebooks; the student versions have blanks to fill."""
collect_ignore_glob = ["student/*"]
