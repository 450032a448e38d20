"""Colorize black-and-white photos and films with Zhang et al.'s ECCV 2016 model through OpenCV's DNN module."""
from .errors import ColorizationError, ImageError, ModelFileError
from .image_io import read_image, write_image
from .model_files import ModelFiles
from .pipeline import Colorizer

__all__ = ["Colorizer", "ColorizationError", "ImageError", "ModelFileError", "ModelFiles", "read_image", "write_image"]
