"""Files a user keeps: written whole under a temporary name, on the disk before the rename."""

import os

from tf_dcgan.files import atomic_output


def test_a_kept_file_reaches_the_disk_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(source, target):
        events.append(("replace", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "losses.csv"
    target.write_text("the previous good file\n")
    with atomic_output(target) as tmp:
        tmp.write_text("step,d_loss\n1,0.7\n")
    # The new bytes on the disk, then the rename, then the rename itself on the disk.
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert ".losses.tmp-" in events[0][1] and events[1][1] == str(target)
    assert events[2][1] == str(tmp_path)
    assert target.read_text() == "step,d_loss\n1,0.7\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.csv"]


def test_a_failed_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("{}\n")
    try:
        with atomic_output(target) as tmp:
            tmp.write_text("{half")
            raise OSError(28, "No space left on device")
    except OSError:
        pass
    assert target.read_text() == "{}\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json"]
