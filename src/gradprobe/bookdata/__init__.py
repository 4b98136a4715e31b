"""The data behind figures of *Neural Networks and Deep Learning*, as published in the book's
code repository (``mnielsen/neural-networks-and-deep-learning``, folder ``fig/``, MIT licence).

Data files only (see README.md here); read them through `gradprobe.book`, which checks each
file's SHA-256 before parsing it.
"""
