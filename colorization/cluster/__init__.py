"""Running batch and video on a Ray cluster (`--ray`): imported only when asked for, so Ray stays an optional extra.

runtime.py connects and gets the model to every worker once; pool.py keeps the model workers of a run (one
failure policy for folders and films); batch.py spreads a folder's plan over them; video.py cuts a film at keyframes
and colorizes the segments in parallel.
"""
