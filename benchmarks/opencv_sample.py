"""An independent re-implementation of OpenCV 4.x samples/dnn/colorization.py: the reference our default must match
and the "plain loop" every benchmark compares against.

Kept deliberately literal (float RGB, resize RGB then Lab, concatenate, clip) and free of our package's code.
"""

import cv2
import numpy as np


def load_sample_network(prototxt, caffemodel, points_path):
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    points = np.load(str(points_path)).transpose().reshape(2, 313, 1, 1)
    net.getLayer(net.getLayerId("class8_ab")).blobs = [points.astype(np.float32)]
    net.getLayer(net.getLayerId("conv8_313_rh")).blobs = [np.full([1, 313], 2.606, np.float32)]
    return net


def sample_colorize(net, frame):
    """The sample's loop body for one BGR uint8 frame; returns the sample's float BGR in [0, 1]."""
    img_rgb = (frame[:, :, [2, 1, 0]] * 1.0 / 255).astype(np.float32)
    img_lab = cv2.cvtColor(img_rgb, cv2.COLOR_RGB2Lab)
    img_l = img_lab[:, :, 0]
    (height, width) = img_rgb.shape[:2]
    img_rs = cv2.resize(img_rgb, (224, 224))
    img_lab_rs = cv2.cvtColor(img_rs, cv2.COLOR_RGB2Lab)
    img_l_rs = img_lab_rs[:, :, 0]
    img_l_rs -= 50
    net.setInput(cv2.dnn.blobFromImage(img_l_rs))
    ab_dec = net.forward()[0, :, :, :].transpose((1, 2, 0))
    ab_dec_us = cv2.resize(ab_dec, (width, height))
    img_lab_out = np.concatenate((img_l[:, :, np.newaxis], ab_dec_us), axis=2)
    return np.clip(cv2.cvtColor(img_lab_out, cv2.COLOR_Lab2BGR), 0, 1)


def to_uint8(image):
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
