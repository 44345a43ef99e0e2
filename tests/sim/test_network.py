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
    assert any(r["tiles"] > 1 for r in layers)  # conv2 in strips, fc6 in groups
    fc6 = next(r for r in layers if r["layer"] == "fc6")
    # 16 KiB input banks hold fc6's 9216 inputs: 8 groups of 512 output channels, no chunks
    assert fc6["tiles"] == 8 and fc6["macs"] == 9216 * 4096
    for r in layers:
        assert r["cycles"] >= r["ideal_cycles"] and 0 < r["utilization"] <= 1
    assert (tmp_path / "alexnet_layers.png").stat().st_size > 0


def test_mobilenet_maps_its_depthwise_layers(tmp_path, capsys):
    """The 13 depthwise layers run as groups of cols channels; their utilization counts the
    useful MACs (R·S per output), so it stays below 1/cols."""
    report = tmp_path / "mobilenet.json"
    args = ["network", "mobilenet_v1", "--input", "64", "--json", str(report)]
    assert main(args) == 0
    assert "28/28 layers mapped" in capsys.readouterr().out
    layers = json.loads(report.read_text())["layers"]
    depthwise = [r for r in layers if r["depthwise"]]
    assert len(depthwise) == 13 and all(r["mapped"] for r in depthwise)
    dw13 = next(r for r in depthwise if r["layer"] == "dw13")
    assert dw13["macs"] == 1024 * 2 * 2 * 9 and dw13["tiles"] == 1024 // 8
    for r in depthwise:
        assert 0 < r["utilization"] <= 1 / 8
