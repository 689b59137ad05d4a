"""Packs files into a .tar.gz as the CIFAR-10 archive holds them, for download tests, and prints its MD5.

usage: python3 make_tar_gz.py OUT SOURCE_DIR FOLDER [MEMBER=NAME | MEMBER=zeros:N] ...
Every file of SOURCE_DIR goes in as FOLDER/<file> (sorted, GNU tar format, fixed times); each further
argument adds a member named MEMBER as given (even '../x'), holding SOURCE_DIR/NAME's bytes or N zero bytes.
"""
import hashlib
import io
import os
import sys
import tarfile


def add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 1_234_567_890, 0o644
    archive.addfile(info, io.BytesIO(data))


def main():
    out, source, folder = sys.argv[1:4]
    with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as archive:
        folder_info = tarfile.TarInfo(folder)
        folder_info.type, folder_info.mode, folder_info.mtime = tarfile.DIRTYPE, 0o755, 1_234_567_890
        archive.addfile(folder_info)
        for name in sorted(os.listdir(source)):
            with open(os.path.join(source, name), "rb") as f:
                add(archive, f"{folder}/{name}", f.read())
        for extra in sys.argv[4:]:
            member, what = extra.split("=", 1)
            if what.startswith("zeros:"):
                data = bytes(int(what[6:]))
            else:
                with open(os.path.join(source, what), "rb") as f:
                    data = f.read()
            add(archive, member, data)
    with open(out, "rb") as f:
        print(hashlib.md5(f.read()).hexdigest())


if __name__ == "__main__":
    main()
