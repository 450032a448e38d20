"""Colorizing a whole folder tree: which files, where each output goes, and keeping the network busy.

Reading and colour work run in threads beside the network (colorization.stream), so memory stays a few pictures
deep however large the archive. The network is loaded once, and only when there is work. Every output is written
under a temporary name and renamed, and a file whose output exists is skipped, so a run killed at any moment is
finished by running the same command again.

One module per job, each importing only those before it: settings.py (BatchSettings), listing.py (which files,
which shard), report.py (the records, summary and CSV/JSON report), planning.py (outputs, skips, hints),
stages.py (read, network, write for each picture) and run.py (a folder's run from plan to report).
"""
