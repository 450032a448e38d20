"""Films: ffmpeg processes and probing (ffmpeg), their arguments (encoding), frames through pipes (io), and the
colorization of whole films and previews (colorize)."""

from .colorize import colorize_video, colorize_videos, preview_video, preview_videos
from .encoding import VideoOptions

__all__ = ["VideoOptions", "colorize_video", "colorize_videos", "preview_video", "preview_videos"]
