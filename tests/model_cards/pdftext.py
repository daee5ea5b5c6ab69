"""Find a string in a PDF without a PDF library: inflate every Flate stream and search (the
document title, which carries the model name, lives in a compressed object stream)."""
import re
import zlib


def pdf_contains(data: bytes, text: str) -> bool:
    needle = text.encode()
    if needle in data:
        return True
    for match in re.finditer(rb"stream\r?\n", data):
        chunk = data[match.end():]
        try:
            inflated = zlib.decompressobj().decompress(chunk)
        except zlib.error:
            continue
        if needle in inflated:
            return True
    return False
