"""The command lines, `train.py`, `evaluate.py`, `export.py` and `generate.py` (installed as
`tf-dcgan-train`, `tf-dcgan-evaluate`, `tf-dcgan-export` and `tf-dcgan-generate`): each parses
its flags and calls one library function. TensorFlow-free until a command runs, so `--help` and a
bad flag answer at once.
"""
