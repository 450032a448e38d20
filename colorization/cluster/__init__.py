"""Running batch and video on a Ray cluster (`--ray`): imported only when asked for, so Ray stays an optional extra.

runtime.py connects and gets the model to every worker once; batch.py spreads a folder's plan over a pool of
model actors; video.py cuts a film at keyframes and colorizes the segments in parallel.
"""
