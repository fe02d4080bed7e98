"""Makes the torch.save fixtures of merv-core's tests (maintainer tool; tests never run it).

Run from the repository root inside an environment with PyTorch and safetensors:

    python3 tools/torch-save/make_fixtures.py [OUT_DIR]

OUT_DIR defaults to merv-core/src/test/resources/torch-save. Everything is seeded, so a rerun with the
same PyTorch writes the same tensors (the zip records carry a random serialization id, so the bytes of
the .pt files differ between runs).

What it writes (every positive file has its expected tensors beside it, written by safetensors from
the tensors torch.load itself returns, so the Java reader is compared with torch's own values):

  positive/<name>.pt                zip format (torch >= 1.6)
  positive/<name>-legacy.pt         the same object in the legacy format (_use_new_zipfile_serialization=False)
  positive/<name>.expected.safetensors   every tensor under its nested path joined with '.', contiguous
  positive/<name>.values.json       the non-tensor leaves: path -> repr
  positive/sharded/                 pytorch_model-0000{1,2}-of-00002.bin + pytorch_model.bin.index.json
  merv-run/                         a reference-layout MERV run (config.json + checkpoints/latest-checkpoint.pt)
                                    built from the merv-forward-tiny fixture, plus expected.json (sha256 of
                                    every tensor's bytes) and the legacy-key variants adapter.pt and projector.pt
  hostile/<name>                    files the reader must refuse; hostile/expected.json maps each file to a
                                    fragment the error message must contain
"""

import collections
import hashlib
import io
import json
import os
import pickle
import random
import struct
import sys
import zipfile

import torch
from safetensors.torch import load_file, save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else "merv-core/src/test/resources/torch-save"
FORWARD = "merv-core/src/test/resources/fixtures/merv-forward-tiny"

torch.manual_seed(12)


def path(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


# ------------------------------------------------------------------------------ flattening

def flatten(obj, prefix, tensors, values):
    """Every tensor under its nested path; everything else recorded as a value (as the Java reader does)."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix if prefix else "tensor"] = obj.detach().contiguous().clone()
    elif isinstance(obj, dict) and obj:
        for k, v in obj.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), tensors, values)
    elif isinstance(obj, (list, tuple)) and obj:
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}.{i}" if prefix else str(i), tensors, values)
    else:
        values[prefix] = type(obj).__name__


def save_positive(name, obj, legacy=True, protocol=2):
    """Saves obj (zip and, optionally, legacy) and the expected tensors read back by torch.load."""
    zpath = path("positive", name + ".pt")
    torch.save(obj, zpath, pickle_protocol=protocol)
    if legacy:
        torch.save(obj, path("positive", name + "-legacy.pt"), _use_new_zipfile_serialization=False)
    loaded = torch.load(zpath, weights_only=protocol == 2)
    tensors, values = {}, {}
    flatten(loaded, "", tensors, values)
    save_file(tensors, path("positive", name + ".expected.safetensors"))
    with open(path("positive", name + ".values.json"), "w") as f:
        json.dump(values, f, indent=1, sort_keys=True)
    if legacy:
        lt, lv = {}, {}
        flatten(torch.load(path("positive", name + "-legacy.pt"), weights_only=True), "", lt, lv)
        assert lt.keys() == tensors.keys() and lv == values, name
        for k in lt:
            assert torch.equal(lt[k], tensors[k]), (name, k)


def every_dtype():
    g = torch.Generator().manual_seed(3)
    f = torch.randn(2, 3, generator=g)
    return {
        "f32": f,
        "f16": torch.randn(3, 2, generator=g).half(),
        "bf16": torch.randn(2, 2, 3, generator=g).bfloat16(),
        "f64": torch.randn(5, generator=g).double(),
        "i64": torch.randint(-2**62, 2**62, (4,), generator=g, dtype=torch.int64),
        "i32": torch.randint(-2**31, 2**31 - 1, (2, 2), generator=g, dtype=torch.int32),
        "i16": torch.randint(-2**15, 2**15 - 1, (3,), generator=g, dtype=torch.int16),
        "i8": torch.randint(-128, 127, (5,), generator=g, dtype=torch.int8),
        "u8": torch.randint(0, 255, (2, 3), generator=g, dtype=torch.uint8),
        "bool": torch.rand(3, 3, generator=g) > 0.5,
    }


def views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    half = torch.randn(4, 6).bfloat16()
    i16 = torch.arange(30, dtype=torch.int16).reshape(5, 6)
    return {
        "base": base,
        "t": base.t(),                       # transpose: strides (1, 6), same storage
        "slice": base[1:3, 2:5],             # offset 8, strides (6, 1)
        "row": base[2],                      # offset 12, contiguous
        "col": base[:, 1],                   # stride 6
        "step": base.view(-1)[3::5],         # offset 3, stride 5
        "scalar_view": base[1, 2],           # 0-d view at offset 8
        "empty_view": base[:, 6:],           # shape (4, 0), offset 6
        "expanded": torch.arange(3.0).expand(4, 3),   # stride 0 (overlapping elements)
        "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 4),
        "bf16": half,
        "bf16_t": half.t(),
        "i16_slice": i16[1:4, ::2],
        "bool_t": (base > 10).t(),
        "f64_perm": torch.randn(2, 3, 4, dtype=torch.float64).permute(2, 0, 1),
    }


def nested():
    g = torch.Generator().manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    return {
        "model": net.state_dict(),           # OrderedDict with _metadata: REDUCE + BUILD
        "list": [torch.randn(2, generator=g), {"x": torch.randn(1, 2, generator=g)}, 3, "s"],
        "tuple": (torch.randn(3, generator=g), 1.5, None),
        "ints_key": {0: torch.ones(2), 7: torch.zeros(1, dtype=torch.int64)},
        "param": torch.nn.Parameter(torch.randn(2, 2, generator=g)),
        "grad_leaf": torch.randn(2, generator=g).requires_grad_(),
        "tied_a": None,
        "step": 42,
        "name": "merv",
        "flag": True,
        "big": 2 ** 70,
        "neg": -70000,
        "float": 0.25,
        "empty_dict": {},
        "empty_list": [],
        "od": collections.OrderedDict(a=torch.full((2,), 7.0)),
    }


# ------------------------------------------------------------------------------ positive

def write_positive():
    save_positive("dtypes", every_dtype())
    save_positive("views", views())
    obj = nested()
    shared = torch.randn(3)
    obj["tied_a"] = shared
    obj["tied_b"] = shared                   # the same tensor twice (memo)
    save_positive("nested", obj)
    save_positive("protocol4", {"w": torch.randn(2, 3), "sub": {"b": torch.arange(4)}, "n": 1}, legacy=False,
                  protocol=4)
    save_positive("root-tensor", torch.arange(6, dtype=torch.int32).reshape(2, 3))

    # HF sharded pytorch_model.bin + index
    g = torch.Generator().manual_seed(9)
    shard1 = {"embed.weight": torch.randn(5, 4, generator=g), "layers.0.w": torch.randn(4, 4, generator=g)}
    shard2 = {"layers.1.w": torch.randn(4, 4, generator=g).half(), "head.weight": torch.randn(3, 4, generator=g)}
    names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    weight_map = {}
    for shard, fname in zip([shard1, shard2], names):
        torch.save(shard, path("positive", "sharded", fname))
        weight_map.update({k: fname for k in shard})
    total = sum(t.numel() * t.element_size() for s in (shard1, shard2) for t in s.values())
    with open(path("positive", "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    save_file({**shard1, **shard2}, path("positive", "sharded.expected.safetensors"))


# ------------------------------------------------------------------------------ MERV run

def write_merv_run():
    sd = load_file(os.path.join(FORWARD, "model.safetensors"))
    with open(os.path.join(FORWARD, "config.json")) as f:
        fx = json.load(f)

    def module(prefix):
        return collections.OrderedDict((k[len(prefix) + 1:], v) for k, v in sd.items() if k.startswith(prefix + "."))

    model = {"projectors": module("projectors"), "feature_fusion": module("feature_fusion"),
             "llm_backbone": module("llm_backbone")}
    run = path("merv-run", "checkpoints", "latest-checkpoint.pt")
    torch.save({"model": model}, run)
    config = {
        "model": {
            "type": "merv-base", "model_id": "merv-base", "vidlm_id": "merv-base",
            "arch_specifier": fx["arch_specifier"], "feature_fusion": fx["feature_fusion"],
            "video_backbone_ids": fx["video_backbone_ids"], "llm_backbone_id": "llama3-tiny",
            "num_frames": fx["num_frames"], "projector_token_length": fx["projector_token_length"],
            "visual_feature_length": fx["visual_feature_length"], "fusion_embed_dim": fx["fusion_embed_dim"],
        },
        "stage": "finetune", "run_id": "merv-forward-tiny+stage-finetune+x7", "seed": 7,
    }
    with open(path("merv-run", "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    digests = {}
    loaded = torch.load(run, weights_only=True)
    for mod, tensors in loaded["model"].items():
        for k, t in tensors.items():
            digests[f"model.{mod}.{k}"] = {
                "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                "sha256": hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest(),
                "source": f"{mod}.{k}"}
    with open(path("merv-run", "expected.json"), "w") as f:
        json.dump(digests, f, indent=1, sort_keys=True)
    # legacy key layouts the reference's loader still accepts: 'adapter' for the fusion, and a single
    # encoder's 'projector' whose keys lack the leading '0.' (the LLM is left out to keep them small)
    torch.save({"model": {"projectors": model["projectors"], "adapter": model["feature_fusion"]}},
               path("merv-run", "adapter.pt"))
    single = collections.OrderedDict((k[2:], v) for k, v in model["projectors"].items() if k.startswith("0."))
    torch.save({"model": {"projector": single}}, path("merv-run", "projector.pt"))


# ------------------------------------------------------------------------------ hostile

PROTO2 = b"\x80\x02"


def uni(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def intop(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def storage_pid(key, numel, kind="FloatStorage"):
    return tup(uni("storage"), glob("torch", kind), uni(key), uni("cpu"), intop(numel)) + b"Q"


def rebuild(pid, offset, size, stride):
    hooks = glob("collections", "OrderedDict") + b")R"
    return glob("torch._utils", "_rebuild_tensor_v2") + tup(
        pid, intop(offset), tup(*[intop(s) for s in size]), tup(*[intop(s) for s in stride]), b"\x89", hooks) + b"R"


def dict_of(**items):
    return b"}(" + b"".join(uni(k) + v for k, v in items.items()) + b"u"


def zip_pt(name, pkl, records=None, folder="archive", compress=False, stop=True):
    """A torch.save-like zip: folder/data.pkl, folder/byteorder, folder/data/<key>..., folder/version."""
    p = path("hostile", name)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", pkl + (b"." if stop else b""))
        z.writestr(f"{folder}/byteorder", b"little")
        for key, data in (records or {}).items():
            z.writestr(zipfile.ZipInfo(f"{folder}/data/{key}"), data,
                       compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
        z.writestr(f"{folder}/version", b"3\n")
    return p


def write_hostile():
    expected = {}
    eight = struct.pack("<2f", 1.0, 2.0)

    def add(name, fragment):
        expected[name] = fragment

    def call(module, name, *args):
        return glob(module, name) + tup(*args) + b"R"

    # forbidden globals, called through REDUCE as a malicious __reduce__ would
    for mod, fn, arg in [("os", "system", "echo pwned"), ("builtins", "eval", "print('pwned')"),
                         ("posix", "system", "echo pwned"), ("subprocess", "Popen", "true"),
                         ("nt", "system", "echo pwned"), ("builtins", "getattr", "x"),
                         ("torch", "load", "x.pt"), ("torch._utils", "_rebuild_tensor_v3", "x")]:
        n = f"global-{mod.replace('.', '-')}-{fn.lower()}.pt"
        zip_pt(n, PROTO2 + dict_of(x=call(mod, fn, uni(arg))))
        add(n, f"{mod}.{fn}")
    # a whole module pickled (torch.save(model)): torch's own file, refused at its first class global
    torch.save(torch.nn.Linear(2, 2), path("hostile", "torch-module.pt"))
    add("torch-module.pt", "torch.nn.modules.linear.Linear")
    # the same global through the protocol-4 STACK_GLOBAL and the protocol-0 INST opcodes
    zip_pt("stack-global-os-system.pt", b"\x80\x04" + uni("os") + uni("system") + b"\x93" + tup(uni("id")) + b"R")
    add("stack-global-os-system.pt", "os.system")
    zip_pt("inst-os-system.pt", PROTO2 + b"(" + uni("id") + b"ios\nsystem\n")
    add("inst-os-system.pt", "INST")
    zip_pt("obj-opcode.pt", PROTO2 + b"(" + glob("collections", "OrderedDict") + b"o")
    add("obj-opcode.pt", "OBJ")
    zip_pt("newobj-ordereddict.pt", PROTO2 + glob("collections", "OrderedDict") + b")\x81")
    add("newobj-ordereddict.pt", "NEWOBJ")
    zip_pt("ext1.pt", PROTO2 + b"\x82\x01")
    add("ext1.pt", "EXT1")
    zip_pt("build-on-list.pt", PROTO2 + b"]" + dict_of(append=uni("x")) + b"b")
    add("build-on-list.pt", "BUILD")
    zip_pt("persid-module.pt", PROTO2 + tup(uni("module"), uni("os"), b"N", b"N") + b"Q")
    add("persid-module.pt", "persistent id")
    zip_pt("reduce-storage-type.pt", PROTO2 + call("torch", "FloatStorage", intop(4)))
    add("reduce-storage-type.pt", "torch.FloatStorage")

    # size / stride / offset bombs over a 2-element storage
    for n, off, size, stride, frag in [
            ("size-bomb.pt", 0, [2**40], [1], "past its storage"),
            ("stride-bomb.pt", 0, [2, 2], [2**40, 1], "past its storage"),
            ("offset-bomb.pt", 2**62, [1], [1], "past its storage"),
            ("overflow-bomb.pt", 0, [2**62, 2**62], [1, 1], "overflow"),
            ("negative-size.pt", 0, [-1], [1], "negative"),
            ("negative-stride.pt", 1, [2], [-1], "negative")]:
        zip_pt(n, PROTO2 + dict_of(w=rebuild(storage_pid("0", 2), off, size, stride)), {"0": eight})
        add(n, frag)
    zip_pt("storage-numel-bomb.pt", PROTO2 + dict_of(w=rebuild(storage_pid("0", 2**40), 0, [2], [1])), {"0": eight})
    add("storage-numel-bomb.pt", "record")
    zip_pt("storage-missing.pt", PROTO2 + dict_of(w=rebuild(storage_pid("7", 2), 0, [2], [1])), {"0": eight})
    add("storage-missing.pt", "data/7")
    zip_pt("storage-two-dtypes.pt", PROTO2 + dict_of(
        a=rebuild(storage_pid("0", 2), 0, [2], [1]),
        b=rebuild(storage_pid("0", 8, "ByteStorage"), 0, [8], [1])), {"0": eight})
    add("storage-two-dtypes.pt", "storage '0'")
    zip_pt("compressed.pt", PROTO2 + dict_of(w=rebuild(storage_pid("0", 2), 0, [2], [1])), {"0": eight},
           compress=True)
    add("compressed.pt", "compress")

    # a record whose size in the zip directory is far larger than the file
    p = zip_pt("record-past-eof.pt", PROTO2 + dict_of(w=rebuild(storage_pid("0", 2), 0, [2], [1])), {"0": eight})
    data = bytearray(open(p, "rb").read())
    # patch every central-directory entry named .../data/0: sizes at +20 and +24
    i = 0
    while True:
        i = data.find(b"PK\x01\x02", i)
        if i < 0:
            break
        nlen = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46:i + 46 + nlen].endswith(b"data/0"):
            struct.pack_into("<II", data, i + 20, 0xFFFFFF00, 0xFFFFFF00)
        i += 4
    open(p, "wb").write(bytes(data))
    add("record-past-eof.pt", "past the end of the file")

    # truncation and noise
    good = io.BytesIO()
    torch.save({"w": torch.randn(64)}, good)
    open(path("hostile", "truncated.pt"), "wb").write(good.getvalue()[: len(good.getvalue()) // 2])
    add("truncated.pt", "truncated")
    legacy = io.BytesIO()
    torch.save({"w": torch.randn(64)}, legacy, _use_new_zipfile_serialization=False)
    open(path("hostile", "truncated-legacy.pt"), "wb").write(legacy.getvalue()[:-100])
    add("truncated-legacy.pt", "truncated")
    # a legacy file whose first storage claims 2^40 elements
    f = io.BytesIO(legacy.getvalue())
    for _ in range(3):
        pickle.load(f)
    class Skim(pickle.Unpickler):   # walks the pickle without building anything
        def find_class(self, module, name):
            return lambda *args: None

        def persistent_load(self, pid):
            return None

    Skim(f).load()
    pickle.load(f)
    bomb = bytearray(legacy.getvalue())
    struct.pack_into("<q", bomb, f.tell(), 2**40)
    open(path("hostile", "legacy-storage-bomb.pt"), "wb").write(bytes(bomb))
    add("legacy-storage-bomb.pt", "past the end")
    open(path("hostile", "legacy-bad-magic.pt"), "wb").write(PROTO2 + intop(12345) + b".")
    add("legacy-bad-magic.pt", "magic number")
    rnd = random.Random(4)
    open(path("hostile", "random.bin"), "wb").write(bytes(rnd.randrange(256) for _ in range(4096)))
    add("random.bin", "neither")
    open(path("hostile", "empty.pt"), "wb").write(b"")
    add("empty.pt", "empty")

    # pickle-level abuse
    depth = 5000
    zip_pt("deep-nesting.pt", PROTO2 + b"]" * depth + b"a" * (depth - 1))
    add("deep-nesting.pt", "nested deeper")
    zip_pt("mark-bomb.pt", PROTO2 + b"(" * 20000, stop=False)
    add("mark-bomb.pt", "MARK")
    zip_pt("memo-missing.pt", PROTO2 + b"j" + struct.pack("<I", 123456))
    add("memo-missing.pt", "memo")
    zip_pt("memo-cycle.pt", PROTO2 + b"]q\x00h\x00a")
    add("memo-cycle.pt", "contains itself")
    # level i = [level i-1, level i-1]: 64 levels are 2^63 leaves when walked as a tree
    laughs = PROTO2 + b"]q\x00"
    for i in range(1, 64):
        laughs += b"(h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"lq" + bytes([i]) + b"0"
    laughs += b"h" + bytes([63])
    zip_pt("memo-laughs.pt", laughs)
    add("memo-laughs.pt", "shared")
    zip_pt("string-bomb.pt", PROTO2 + b"X" + struct.pack("<I", 0xFFFFFFF0) + b"abc")
    add("string-bomb.pt", "past the end")
    zip_pt("list-as-key.pt", PROTO2 + b"}]" + uni("v") + b"s")
    add("list-as-key.pt", "key")
    zip_pt("stack-underflow.pt", PROTO2 + b"a")
    add("stack-underflow.pt", "stack")
    zip_pt("no-stop.pt", PROTO2 + b"}", stop=False)
    add("no-stop.pt", "STOP")
    with open(path("hostile", "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    write_positive()
    write_merv_run()
    write_hostile()
    print("wrote", OUT)
