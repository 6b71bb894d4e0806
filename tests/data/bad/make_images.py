#!/usr/bin/env python3
"""Writes the image cases under images/ (checked in; run only to change them).

Plain PNG writer (zlib + struct), no imaging library needed."""
import os, struct, zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def png(path, width, height, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def text(name, content):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(content)


os.makedirs(HERE, exist_ok=True)
png(os.path.join(HERE, "tissue.png"), 32, 32, (180, 120, 190))   # a good image: 4 patches of 16x16
png(os.path.join(HERE, "tiny.png"), 8, 12, (180, 120, 190))      # smaller than one patch
png(os.path.join(HERE, "white.png"), 32, 32, (250, 250, 250))    # background only
text("not_an_image.png", "this is text, not a PNG\n")
text("no_label.csv", "path,kind\ntissue.png,1\n")
text("no_path.csv", "name,label\ntissue.png,1\n")
text("header_only.csv", "path,label\n")
text("label_two.csv", "path,label\ntissue.png,2\n")
text("empty_label.csv", "path,label\ntissue.png,\n")
text("listed_twice.csv", "path,label\ntissue.png,1\n./tissue.png,0\n")
text("missing_image.csv", "path,label\ntissue.png,1\ngone.png,0\n")
text("not_an_image.csv", "path,label\nnot_an_image.png,0\n")
text("tiny_image.csv", "path,label\ntiny.png,0\n")
text("white_image.csv", "path,label\nwhite.png,0\n")
text("ragged.csv", "path,label\ntissue.png,1,extra\n")
