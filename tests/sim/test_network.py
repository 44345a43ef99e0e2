"""``python -m accel.sim network``: every conv/FC layer of a real network, tiled, on perf."""

import json

from accel.sim.__main__ import main


def test_alexnet_maps_every_layer_with_tiling(tmp_path, capsys):
    report = tmp_path / "alexnet.json"
    assert main(["network", "alexnet", "--json", str(report), "--plot", str(tmp_path)]) == 0
    assert "8/8 layers mapped" in capsys.readouterr().out
    data = json.loads(report.read_text())
    layers = data["layers"]
    assert all(r["mapped"] for r in layers)
    fc6 = next(r for r in layers if r["layer"] == "fc6")
    # 4096 outputs in groups of param_depth * cols = 512 channels; 9216 inputs fit a bank
    assert fc6["tiles"] == 8 and fc6["macs"] == 9216 * 4096
    for r in layers:
        assert r["cycles"] >= r["ideal_cycles"] and 0 < r["utilization"] <= 1
    assert (tmp_path / "alexnet_layers.png").stat().st_size > 0


def test_depthwise_layers_are_listed_as_not_mapped(capsys):
    assert main(["network", "mobilenet_v1", "--input", "64"]) == 0
    out = capsys.readouterr().out
    assert "depthwise convolution: not yet mapped" in out
