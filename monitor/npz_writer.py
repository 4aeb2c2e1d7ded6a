"""Write a ``.npz`` (what ``np.load`` reads) whose large arrays arrive as lists of row blocks.

``np.savez`` needs each array whole: saving ten minutes of features (230 MB of power dB at
n_fft 2048) first concatenated every batch, then copied the result into the zip (0.35 s and
0.05 s of the 0.85 s the save took, and twice the memory). Here each block is written into its
zip entry as it is, behind one ``.npy`` header for the whole array.
"""

from __future__ import annotations

import zipfile

import numpy as np

__all__ = ["save_npz"]


def save_npz(file, blocks: dict, arrays: dict) -> None:
    """Save ``blocks`` and ``arrays`` as an uncompressed ``.npz`` into ``file`` (a path or a
    seekable binary file object, e.g. :func:`monitor.outputs.write_atomically`'s).

    Parameters
    ----------
    blocks : dict
        name -> (list of 2-D arrays with the same columns, columns, dtype): stored as one
        array, the blocks' rows in order.
    arrays : dict
        name -> array-like, stored as ``np.savez`` stores it.
    """
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, (parts, columns, dtype) in blocks.items():
            dtype = np.dtype(dtype)
            rows = sum(int(p.shape[0]) for p in parts)
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                          "shape": (rows, int(columns))}
                np.lib.format.write_array_header_1_0(f, header)
                for p in parts:
                    if p.shape[1:] != (columns,):
                        raise ValueError(f"{name}: a block of shape {p.shape}, expected (n, {columns})")
                    f.write(np.ascontiguousarray(p, dtype=dtype).data)
        for name, value in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
