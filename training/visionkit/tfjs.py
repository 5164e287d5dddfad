"""Converter from TF.js graph models (``model.json`` + weight shards) to ONNX.

Written for the kit's own needs (the ``centernet`` stage), with ``onnx.helper`` only: it reads
the graph JSON, dequantizes the weights exactly, and emits an ONNX graph (opset 13) that
computes the same function with a dynamic batch dimension.

How it works:

- **Order.** Nodes are emitted in a depth-first order from the requested outputs (inputs in the
  order the node lists them), so the output is deterministic and unused nodes are dropped.
- **Constants.** ``Const`` nodes become numpy arrays; ``int32`` becomes ``int64`` (index maths
  runs in int64). Nodes whose inputs are all constants are folded with numpy where the op is a
  simple one. A constant becomes an ONNX initializer only where a node uses it, named after the
  TF tensor (plus a suffix such as ``/oihw`` for a reshaped variant).
- **Layout.** TF.js convolutions are NHWC, ONNX's are NCHW. Every tensor records whether it is
  stored in TF's order or as NCHW. Convolutions, pooling and resizing want NCHW and transpose
  their input once if needed (so the graph input is transposed once); element-wise ops, ``Mean``
  and ``ConcatV2`` work in whatever layout their inputs have (per-channel constants are reshaped
  to ``[C,1,1]``, axes are remapped); every other op (reshape, top-k, slicing, gathering, graph
  outputs) transposes back to TF's order first.
- **Padding.** ``SAME`` is written as explicit pads: ``total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)``,
  ``total // 2`` at the start and the rest at the end (TF puts the odd pixel at the end).
- **Batch.** Graphs exported for batch 1 bake the 1 into reshape constants. Tensors that carry
  the batch in axis 0 are tracked; a ``Reshape`` of such a tensor whose target starts with 1
  keeps the batch dimension instead (ONNX ``0`` = copy that dimension). The TF ``BatchGather``
  pattern (``Reshape(params, [B*K, D])``, ``Reshape(indices, [-1])``, ``GatherV2(axis 0)``) is
  rewritten as ``GatherND(Reshape(params, [0, -1, D]), Unsqueeze(indices, -1), batch_dims=1)``.
  Any other reshape that would fold the batch into another axis is refused
  (:class:`ConversionError`), so a converted graph is batch-polymorphic or not converted at all.
"""
from __future__ import annotations

import base64
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
PRODUCER = "visionkit.tfjs"
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

_NP_TYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
             "uint8": np.uint8, "uint16": np.uint16}
_TF_DTYPES = {"DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT64, "DT_INT64": TensorProto.INT64,
              "DT_BOOL": TensorProto.BOOL}
_ONNX_NP = {TensorProto.FLOAT: np.float32, TensorProto.INT64: np.int64, TensorProto.BOOL: np.bool_}
#: TF NHWC axis -> NCHW axis, and the two transposes.
_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_TO_NCHW = [0, 3, 1, 2]
_TO_NHWC = [0, 2, 3, 1]


class ConversionError(ValueError):
    """The graph uses an op, attribute or shape the converter does not handle."""


# ---------------------------------------------------------------------------------------------
# Reading the TF.js files


@dataclass
class GraphModel:
    nodes: list
    weights: dict
    signature: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def read_weights(manifest: list, folder: str) -> dict:
    """Weights by name from a TF.js ``weightsManifest``, dequantized to their original dtype.

    Each group's shards are concatenated and its weights read one after another. Float16
    quantization (``{"dtype": "float16"}``) is exact in float32; uint8/uint16 affine
    quantization is ``q * scale + min`` (computed in float64, then rounded once).
    """
    out = {}
    for group in manifest:
        data = b""
        for p in group["paths"]:
            with open(os.path.join(folder, p), "rb") as f:
                data += f.read()
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            stored = np.dtype(_NP_TYPES[quant["dtype"] if quant else spec["dtype"]]).newbyteorder("<")
            raw = np.frombuffer(data, stored, count, offset)
            offset += count * stored.itemsize
            if quant and quant["dtype"] == "float16":
                value = raw.astype(np.float32)
            elif quant:
                value = (raw.astype(np.float64) * quant["scale"] + quant["min"]).astype(_NP_TYPES[spec["dtype"]])
            else:
                value = raw.astype(raw.dtype.newbyteorder("="))
            out[spec["name"]] = value.reshape(shape)
        if offset != len(data):
            raise ConversionError(f"weight group {group['paths']}: read {offset} of {len(data)} bytes")
    return out


def load(json_path: str) -> GraphModel:
    """Read a TF.js graph model (``format: graph-model``) and its weights."""
    with open(json_path) as f:
        model = json.load(f)
    if model.get("format") not in (None, "graph-model"):
        raise ConversionError(f"not a graph model: {model.get('format')}")
    weights = read_weights(model["weightsManifest"], os.path.dirname(os.path.abspath(json_path)))
    meta = {k: model[k] for k in ("format", "generatedBy", "convertedBy") if k in model}
    return GraphModel(model["modelTopology"]["node"], weights, model.get("signature", {}), meta)


def attr(node: dict, key: str, default=None):
    """A node attribute as a Python value (strings are base64 in the JSON and decoded here)."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "type" in a:
        return a["type"]
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "shape" in a:
        return [int(d.get("size", -1)) for d in a["shape"].get("dim", [])]
    return a


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF ``SAME`` padding of one spatial axis as (begin, end); the odd pixel goes to the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _conv_out(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int]) -> int:
    return (size + pads[0] + pads[1] - (kernel - 1) * dilation - 1) // stride + 1


# ---------------------------------------------------------------------------------------------
# Conversion


@dataclass
class Tensor:
    """What the converter knows about one TF tensor."""
    name: str | None          # ONNX tensor name (None for an unused constant)
    shape: tuple              # TF shape with batch 1 where the tensor is batched
    dtype: int                # ONNX element type
    nchw: bool = False        # stored as NCHW (TF sees NHWC)
    batched: bool = False     # axis 0 is the (dynamic) batch
    value: np.ndarray | None = None   # constant value (TF layout)


_FOLD = {
    "Mul": np.multiply, "Add": np.add, "AddV2": np.add, "Sub": np.subtract, "RealDiv": np.divide,
    "Maximum": np.maximum, "Minimum": np.minimum,
}


class Converter:
    def __init__(self, model: GraphModel, inputs: dict, outputs: dict, name: str, batch_param: str = "batch"):
        self.model = model
        self.by_name = {n["name"]: n for n in model.nodes}
        self.inputs, self.outputs = inputs, outputs
        self.graph_name, self.batch_param = name, batch_param
        self.nodes: list = []
        self.initializers: dict = {}
        self.tensors: dict[str, Tensor] = {}
        self.cache: dict = {}
        self.absorbed: set = set()
        self.rewrites: list = []

    # -- helpers ---------------------------------------------------------------------------

    def emit(self, op: str, inputs: list, output: str, n_out: int = 1, **attrs) -> list:
        outs = [output] + [f"{output}:{i}" for i in range(1, n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=output, **attrs))
        return outs

    def const(self, key: str, value: np.ndarray) -> str:
        """An initializer (created once per name)."""
        if key not in self.initializers:
            v = np.asarray(value)
            if v.dtype == np.int32:
                v = v.astype(np.int64)
            self.initializers[key] = numpy_helper.from_array(np.ascontiguousarray(v), key)
        return key

    def ref(self, src: str) -> Tensor:
        src = src.lstrip("^")
        name, _, index = src.partition(":")
        key = name if index in ("", "0") else f"{name}:{index}"
        return self.tensors[key]

    def val(self, t: Tensor, tf_name: str, nchw: bool = False) -> str:
        """ONNX name of ``t`` in TF layout (``nchw=False``) or NCHW, transposing once if needed."""
        if t.value is not None:
            if nchw and t.value.ndim >= 1 and t.value.size > 1:
                v = t.value.reshape((1,) * (4 - t.value.ndim) + t.value.shape).transpose(_TO_NCHW)
                return self.const(f"{tf_name}/nchw", v.reshape(v.shape[1:]))
            return self.const(tf_name, t.value)
        if t.nchw == nchw or len(t.shape) != 4:
            return t.name
        key = (t.name, nchw)
        if key not in self.cache:
            perm = _TO_NCHW if nchw else _TO_NHWC
            self.cache[key] = self.emit("Transpose", [t.name], f"{t.name}/{'nchw' if nchw else 'nhwc'}", perm=perm)[0]
        return self.cache[key]

    def _int_const(self, key: str, values) -> str:
        return self.const(key, np.asarray(values, np.int64))

    # -- driver ----------------------------------------------------------------------------

    def order(self) -> list:
        seen, order = set(), []

        def visit(name: str):
            stack = [(name, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                    continue
                if n in seen:
                    continue
                seen.add(n)
                stack.append((n, True))
                node = self.by_name[n]
                for i in reversed(node.get("input", [])):
                    dep = i.lstrip("^").split(":")[0]
                    if dep not in seen:
                        stack.append((dep, False))
        for out in self.outputs:
            visit(out.split(":")[0])
        return order

    def find_batch_gathers(self, order: list) -> None:
        """Mark the ``BatchGather`` reshape pairs that :meth:`op_GatherV2` rewrites."""
        users: dict = {}
        for n in order:
            for i in self.by_name[n].get("input", []):
                users.setdefault(i.lstrip("^").split(":")[0], []).append(n)
        for n in order:
            node = self.by_name[n]
            if node["op"] != "GatherV2" or attr(node, "batch_dims", 0) != 0:
                continue
            params, indices, axis = (self.by_name.get(i.split(":")[0]) for i in node["input"][:3])
            if not (params and indices and axis and params["op"] == "Reshape" and indices["op"] == "Reshape"):
                continue
            pshape = self.model.weights.get(params["input"][1])
            ishape = self.model.weights.get(indices["input"][1])
            aval = self.model.weights.get(axis["name"])
            if pshape is None or ishape is None or aval is None or int(aval) != 0:
                continue
            if len(pshape) == 2 and list(ishape) == [-1] and users.get(params["name"]) == [n] \
                    and users.get(indices["name"]) == [n]:
                self.absorbed.update([params["name"], indices["name"]])

    def convert(self) -> onnx.ModelProto:
        order = self.order()
        self.find_batch_gathers(order)
        graph_inputs = []
        for n in order:
            node = self.by_name[n]
            if n in self.absorbed:
                continue
            op = node["op"]
            if op == "Const":
                value = self.model.weights.get(n)
                if value is None:
                    raise ConversionError(f"constant {n} has no weight")
                dtype = TensorProto.BOOL if value.dtype == np.bool_ else (
                    TensorProto.INT64 if value.dtype.kind in "iu" else TensorProto.FLOAT)
                if dtype == TensorProto.INT64:
                    value = value.astype(np.int64)
                self.tensors[n] = Tensor(None, tuple(value.shape), dtype, value=value)
                continue
            if op == "Placeholder":
                if n not in self.inputs:
                    raise ConversionError(f"placeholder {n} is not a declared input")
                shape = attr(node, "shape") or self.model.signature["inputs"][n]
                dtype = _TF_DTYPES[attr(node, "dtype")]
                name = self.inputs[n]
                dims = [self.batch_param] + [int(d) for d in shape[1:]]
                graph_inputs.append(helper.make_tensor_value_info(name, dtype, dims))
                self.tensors[n] = Tensor(name, (1,) + tuple(int(d) for d in shape[1:]), dtype, batched=True)
                continue
            args = [None if i.split(":")[0] in self.absorbed else self.ref(i)
                    for i in node.get("input", []) if not i.startswith("^")]
            handler = getattr(self, f"op_{op.lstrip('_')}", None)
            if handler is None:
                raise ConversionError(f"unsupported op {op} ({n})")
            if op in _FOLD and all(a is not None and a.value is not None for a in args):
                v = _FOLD[op](args[0].value, args[1].value)
                self.tensors[n] = Tensor(None, tuple(np.shape(v)), args[0].dtype, value=np.asarray(v))
                continue
            handler(node, args)

        graph_outputs = []
        for tf_name, name in self.outputs.items():
            t = self.ref(tf_name)
            src = self.val(t, tf_name)
            if src != name:
                if any(name in n.output for n in self.nodes) or name in self.initializers:
                    raise ConversionError(f"output name {name} is already a tensor of the graph")
                self.nodes.append(helper.make_node("Identity", [src], [name], name=f"output/{name}"))
            dims = ([self.batch_param] if t.batched else [t.shape[0]]) + list(t.shape[1:])
            graph_outputs.append(helper.make_tensor_value_info(name, t.dtype, dims))
        graph = helper.make_graph(self.nodes, self.graph_name, graph_inputs, graph_outputs,
                                  initializer=list(self.initializers.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name=PRODUCER, producer_version="1")
        model.ir_version = 7
        return model

    def out(self, node: dict, name: str, shape, dtype=TensorProto.FLOAT, nchw=False, batched=False, key=None):
        self.tensors[key or node["name"]] = Tensor(name, tuple(int(s) for s in shape), dtype, nchw, batched)

    # -- convolution family ----------------------------------------------------------------

    def _conv(self, node: dict, args: list, depthwise: bool) -> None:
        x, w = args[0], args[1]
        if attr(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError(f"{node['name']}: only NHWC convolutions")
        if w.value is None:
            raise ConversionError(f"{node['name']}: weights must be constant")
        strides = attr(node, "strides", [1, 1, 1, 1])
        dil = attr(node, "dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]
        kh, kw, cin, cout = w.value.shape
        n, h, wd, c = x.shape
        padding = attr(node, "padding")
        if padding == "SAME":
            ph, pw = same_pads(h, kh, strides[1], dil[1]), same_pads(wd, kw, strides[2], dil[2])
        elif padding == "VALID":
            ph, pw = (0, 0), (0, 0)
        else:
            raise ConversionError(f"{node['name']}: padding {padding}")
        wname = node["input"][1]
        if depthwise:   # [kh, kw, C, mult] -> [C*mult, 1, kh, kw], group C
            weight = w.value.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
            group, channels = cin, cin * cout
        else:           # [kh, kw, Cin, Cout] -> [Cout, Cin, kh, kw]
            weight = w.value.transpose(3, 2, 0, 1)
            group, channels = 1, cout
        inputs = [self.val(x, node["input"][0], nchw=True), self.const(f"{wname}/oihw", weight)]
        fused = attr(node, "fused_ops", []) or []
        extra = list(fused)
        if extra and extra[0] == "BiasAdd":
            b = args[2]
            if b.value is None:
                raise ConversionError(f"{node['name']}: bias must be constant")
            inputs.append(self.const(node["input"][2], b.value.reshape(-1)))
            extra = extra[1:]
        name = node["name"]
        conv_name = name if not extra else f"{name}/conv"
        self.emit("Conv", inputs, conv_name, kernel_shape=[kh, kw], strides=[strides[1], strides[2]],
                  dilations=[dil[1], dil[2]], pads=[ph[0], pw[0], ph[1], pw[1]], group=group)
        for i, act in enumerate(extra):
            target = name if i == len(extra) - 1 else f"{name}/{act.lower()}"
            src = conv_name if i == 0 else f"{name}/{extra[i - 1].lower()}"
            self._activation(act, src, target, node)
        oh, ow = _conv_out(h, kh, strides[1], dil[1], ph), _conv_out(wd, kw, strides[2], dil[2], pw)
        self.out(node, name, (n, oh, ow, channels), nchw=True, batched=x.batched)

    def _activation(self, act: str, src: str, target: str, node: dict) -> None:
        if act == "Relu":
            self.emit("Relu", [src], target)
        elif act == "Relu6":
            self.emit("Clip", [src, self.const("relu6/min", np.float32(0)), self.const("relu6/max", np.float32(6))],
                      target)
        elif act == "Sigmoid":
            self.emit("Sigmoid", [src], target)
        else:
            raise ConversionError(f"{node['name']}: fused op {act}")

    def op_FusedConv2D(self, node, args):
        self._conv(node, args, depthwise=False)

    def op_Conv2D(self, node, args):
        self._conv(node, args, depthwise=False)

    def op_FusedDepthwiseConv2dNative(self, node, args):
        self._conv(node, args, depthwise=True)

    def op_DepthwiseConv2dNative(self, node, args):
        self._conv(node, args, depthwise=True)

    def op_MaxPool(self, node, args):
        x = args[0]
        k, s = attr(node, "ksize"), attr(node, "strides")
        if attr(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError(f"{node['name']}: only NHWC pooling")
        n, h, w, c = x.shape
        if attr(node, "padding") == "SAME":
            ph, pw = same_pads(h, k[1], s[1]), same_pads(w, k[2], s[2])
        else:
            ph, pw = (0, 0), (0, 0)
        self.emit("MaxPool", [self.val(x, node["input"][0], nchw=True)], node["name"], kernel_shape=[k[1], k[2]],
                  strides=[s[1], s[2]], pads=[ph[0], pw[0], ph[1], pw[1]])
        self.out(node, node["name"], (n, _conv_out(h, k[1], s[1], 1, ph), _conv_out(w, k[2], s[2], 1, pw), c),
                 nchw=True, batched=x.batched)

    def op_ResizeBilinear(self, node, args):
        x, size = args
        if size.value is None:
            raise ConversionError(f"{node['name']}: size must be constant")
        n, h, w, c = x.shape
        oh, ow = (int(v) for v in size.value)
        if attr(node, "align_corners", False):
            mode = "align_corners"
        elif attr(node, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        scales = np.array([1, 1, oh / h, ow / w], np.float32)
        if math.floor(h * float(scales[2])) != oh or math.floor(w * float(scales[3])) != ow:
            raise ConversionError(f"{node['name']}: {h}x{w} -> {oh}x{ow} is not an exact float32 scale")
        self.emit("Resize", [self.val(x, node["input"][0], nchw=True), "",
                             self.const(f"{node['name']}/scales", scales)], node["name"],
                  mode="linear", coordinate_transformation_mode=mode)
        self.out(node, node["name"], (n, oh, ow, c), nchw=True, batched=x.batched)

    # -- element-wise ----------------------------------------------------------------------

    def _layout(self, args: list) -> bool:
        """NCHW when every non-constant operand is 4-D and one of them is stored as NCHW."""
        live = [a for a in args if a.value is None]
        return bool(live) and all(len(a.shape) == 4 for a in live) and any(a.nchw for a in live)

    def _binary(self, node, args, op: str, out_dtype=None):
        nchw = self._layout(args)
        names = [self.val(a, i, nchw=nchw) for a, i in zip(args, node["input"])]
        if args[0].dtype != args[1].dtype:
            raise ConversionError(f"{node['name']}: mixed operand types")
        self.emit(op, names, node["name"])
        shape = np.broadcast_shapes(args[0].shape, args[1].shape)
        self.out(node, node["name"], shape, out_dtype or args[0].dtype, nchw, any(a.batched for a in args))

    def op_Mul(self, node, args):
        self._binary(node, args, "Mul")

    def op_Add(self, node, args):
        self._binary(node, args, "Add")

    op_AddV2 = op_Add

    def op_Sub(self, node, args):
        self._binary(node, args, "Sub")

    def op_Equal(self, node, args):
        self._binary(node, args, "Equal", TensorProto.BOOL)

    def _floor_div_mod(self, node, args, mod: bool):
        nchw = self._layout(args)
        a, b = (self.val(t, i, nchw=nchw) for t, i in zip(args, node["input"]))
        name = node["name"]
        if args[0].dtype == TensorProto.INT64:
            # Mod with fmod=0 takes the divisor's sign, as floor division needs; a - mod is then an
            # exact multiple of b, so the truncating Div gives the floor for every sign.
            if mod:
                self.emit("Mod", [a, b], name, fmod=0)
            else:
                r = self.emit("Mod", [a, b], f"{name}/mod", fmod=0)[0]
                d = self.emit("Sub", [a, r], f"{name}/sub")[0]
                self.emit("Div", [d, b], name)
        else:
            q = self.emit("Div", [a, b], f"{name}/div")[0]
            if mod:
                fq = self.emit("Floor", [q], f"{name}/floor")[0]
                m = self.emit("Mul", [fq, b], f"{name}/mul")[0]
                self.emit("Sub", [a, m], name)
            else:
                self.emit("Floor", [q], name)
        shape = np.broadcast_shapes(args[0].shape, args[1].shape)
        self.out(node, name, shape, args[0].dtype, nchw, any(t.batched for t in args))

    def op_FloorDiv(self, node, args):
        if all(a.value is not None for a in args):
            v = np.floor_divide(args[0].value, args[1].value)
            self.tensors[node["name"]] = Tensor(None, v.shape, args[0].dtype, value=v)
            return
        self._floor_div_mod(node, args, mod=False)

    def op_FloorMod(self, node, args):
        if all(a.value is not None for a in args):
            v = np.mod(args[0].value, args[1].value)
            self.tensors[node["name"]] = Tensor(None, v.shape, args[0].dtype, value=v)
            return
        self._floor_div_mod(node, args, mod=True)

    def _unary(self, node, args, act: str):
        x = args[0]
        self._activation(act, self.val(x, node["input"][0], nchw=x.nchw), node["name"], node)
        self.out(node, node["name"], x.shape, x.dtype, x.nchw, x.batched)

    def op_Relu(self, node, args):
        self._unary(node, args, "Relu")

    def op_Relu6(self, node, args):
        self._unary(node, args, "Relu6")

    def op_Sigmoid(self, node, args):
        self._unary(node, args, "Sigmoid")

    def op_Identity(self, node, args):
        self.tensors[node["name"]] = self.ref(node["input"][0])

    def op_Cast(self, node, args):
        x = args[0]
        to = _TF_DTYPES[attr(node, "DstT")]
        if x.value is not None:
            v = x.value.astype(_ONNX_NP[to])
            self.tensors[node["name"]] = Tensor(None, v.shape, to, value=v)
            return
        self.emit("Cast", [self.val(x, node["input"][0], nchw=x.nchw)], node["name"], to=to)
        self.out(node, node["name"], x.shape, to, x.nchw, x.batched)

    # -- reductions and joins --------------------------------------------------------------

    def op_Mean(self, node, args):
        x, axes = args
        keep = attr(node, "keep_dims", False)
        rank = len(x.shape)
        tf_axes = sorted(int(a) % rank for a in np.atleast_1d(axes.value))
        nchw = x.nchw and keep and rank == 4
        onnx_axes = [_TO_NCHW_AXIS[a] for a in tf_axes] if nchw else tf_axes
        if x.batched and 0 in tf_axes:
            raise ConversionError(f"{node['name']}: reduces over the batch")
        self.emit("ReduceMean", [self.val(x, node["input"][0], nchw=nchw)], node["name"],
                  axes=onnx_axes, keepdims=int(keep))
        shape = [1 if i in tf_axes else d for i, d in enumerate(x.shape)]
        if not keep:
            shape = [d for i, d in enumerate(x.shape) if i not in tf_axes]
        self.out(node, node["name"], shape, x.dtype, nchw, x.batched)

    def op_ConcatV2(self, node, args):
        parts, axis = args[:-1], int(args[-1].value)
        rank = len(parts[0].shape)
        axis %= rank
        nchw = self._layout(parts)
        if any(p.batched for p in parts) and axis == 0:
            raise ConversionError(f"{node['name']}: concatenates along the batch")
        names = [self.val(p, i, nchw=nchw) for p, i in zip(parts, node["input"])]
        self.emit("Concat", names, node["name"], axis=_TO_NCHW_AXIS[axis] if nchw else axis)
        shape = list(parts[0].shape)
        shape[axis] = sum(p.shape[axis] for p in parts)
        self.out(node, node["name"], shape, parts[0].dtype, nchw, any(p.batched for p in parts))

    # -- shape ops (TF layout) -------------------------------------------------------------

    def op_Reshape(self, node, args):
        x, shape = args
        if shape.value is None:
            raise ConversionError(f"{node['name']}: shape must be constant")
        target = [int(v) for v in shape.value]
        if x.value is not None:
            v = x.value.reshape(target)
            self.tensors[node["name"]] = Tensor(None, v.shape, x.dtype, value=v)
            return
        static = np.empty(x.shape, np.bool_).reshape(target).shape
        if x.batched:
            if not target or target[0] != 1:
                raise ConversionError(f"{node['name']}: reshape {list(x.shape)} -> {target} folds the batch "
                                      "dimension into another axis")
            target[0] = 0   # ONNX: copy the (dynamic) batch dimension
        self.emit("Reshape", [self.val(x, node["input"][0]), self._int_const(f"{node['name']}/shape", target)],
                  node["name"])
        self.out(node, node["name"], static, x.dtype, False, x.batched)

    def op_ExpandDims(self, node, args):
        x, dim = args
        axis = int(dim.value)
        if x.value is not None:
            v = np.expand_dims(x.value, axis)
            self.tensors[node["name"]] = Tensor(None, v.shape, x.dtype, value=v)
            return
        rank = len(x.shape) + 1
        axis %= rank
        if x.batched and axis == 0:
            raise ConversionError(f"{node['name']}: new axis before the batch")
        self.emit("Unsqueeze", [self.val(x, node["input"][0]), self._int_const(f"{node['name']}/axes", [axis])],
                  node["name"])
        shape = list(x.shape)
        shape.insert(axis, 1)
        self.out(node, node["name"], shape, x.dtype, False, x.batched)

    def op_StridedSlice(self, node, args):
        x, begin, end, strides = args
        if attr(node, "ellipsis_mask", 0) or attr(node, "new_axis_mask", 0):
            raise ConversionError(f"{node['name']}: ellipsis/new-axis masks are not handled")
        bm, em, sm = attr(node, "begin_mask", 0), attr(node, "end_mask", 0), attr(node, "shrink_axis_mask", 0)
        starts, ends, axes, steps, squeeze, slices = [], [], [], [], [], []
        for i, (b, e, s) in enumerate(zip(begin.value, end.value, strides.value)):
            b, e, s = int(b), int(e), int(s)
            if sm >> i & 1:
                e, s = (b + 1 if b != -1 else INT64_MAX), 1
                squeeze.append(i)
            else:
                if bm >> i & 1:
                    b = 0 if s > 0 else INT64_MAX
                if em >> i & 1:
                    e = INT64_MAX if s > 0 else INT64_MIN
            slices.append(slice(b if abs(b) < INT64_MAX else None, e if abs(e) < INT64_MAX and e != INT64_MIN
                                else None, s))
            if b == 0 and e == INT64_MAX and s == 1:
                continue
            if x.batched and i == 0:
                raise ConversionError(f"{node['name']}: slices the batch")
            starts.append(b), ends.append(e), axes.append(i), steps.append(s)
        if x.value is not None:
            v = x.value[tuple(slices)]
            if squeeze:
                v = v.squeeze(tuple(squeeze))
            self.tensors[node["name"]] = Tensor(None, v.shape, x.dtype, value=v)
            return
        name = node["name"]
        src = self.val(x, node["input"][0])
        sliced = name if not squeeze else f"{name}/slice"
        if axes:
            src = self.emit("Slice", [src, self._int_const(f"{name}/starts", starts),
                                      self._int_const(f"{name}/ends", ends), self._int_const(f"{name}/axes", axes),
                                      self._int_const(f"{name}/steps", steps)], sliced)[0]
        elif not squeeze:
            src = self.emit("Identity", [src], name)[0]
        if squeeze:
            self.emit("Squeeze", [src, self._int_const(f"{name}/squeeze", squeeze)], name)
        shape = np.empty(x.shape, np.bool_)[tuple(slices)].shape
        shape = [d for i, d in enumerate(shape) if i not in squeeze]
        self.out(node, name, shape, x.dtype, False, x.batched)

    def op_TopKV2(self, node, args):
        x, k = args
        if attr(node, "sorted", True) is False:
            raise ConversionError(f"{node['name']}: unsorted top-k")
        k = int(k.value)
        name = node["name"]
        self.emit("TopK", [self.val(x, node["input"][0]), self._int_const(f"{name}/k", [k])], name, n_out=2,
                  axis=-1, largest=1, sorted=1)
        shape = list(x.shape[:-1]) + [k]
        self.out(node, name, shape, x.dtype, False, x.batched)
        self.out(node, f"{name}:1", shape, TensorProto.INT64, False, x.batched, key=f"{name}:1")

    def op_GatherV2(self, node, args):
        params_name, indices_name = (i.split(":")[0] for i in node["input"][:2])
        name = node["name"]
        if params_name in self.absorbed:
            # BatchGather: params [1, *rows, D] reshaped to [K, D], indices [1, k] reshaped to [-1].
            pnode, inode = self.by_name[params_name], self.by_name[indices_name]
            src, idx = self.ref(pnode["input"][0]), self.ref(inode["input"][0])
            d = int(self.model.weights[pnode["input"][1]][1])
            if not (src.batched and idx.batched and src.shape[0] == 1 and idx.shape[0] == 1
                    and src.shape[-1] == d and len(idx.shape) == 2):
                raise ConversionError(f"{name}: BatchGather shapes {src.shape} / {idx.shape} not understood")
            rows = int(np.prod(src.shape[1:-1]))
            p = self.emit("Reshape", [self.val(src, pnode["input"][0]),
                                      self._int_const(f"{name}/params_shape", [0, -1, d])], f"{name}/params")[0]
            i = self.emit("Unsqueeze", [self.val(idx, inode["input"][0]), self._int_const(f"{name}/axes", [-1])],
                          f"{name}/indices")[0]
            self.emit("GatherND", [p, i], name, batch_dims=1)
            self.rewrites.append(f"{name}: BatchGather over {rows} rows of {d} -> GatherND(batch_dims=1)")
            self.out(node, name, (1, idx.shape[1], d), src.dtype, False, True)
            return
        params, indices, axis = args
        axis = int(axis.value) % len(params.shape)
        if params.batched and axis == 0:
            raise ConversionError(f"{name}: gathers along the batch")
        if attr(node, "batch_dims", 0):
            raise ConversionError(f"{name}: batch_dims")
        self.emit("Gather", [self.val(params, node["input"][0]), self.val(indices, node["input"][1])], name, axis=axis)
        shape = list(params.shape[:axis]) + list(indices.shape) + list(params.shape[axis + 1:])
        self.out(node, name, shape, params.dtype, False, params.batched)


def convert(model: GraphModel, inputs: dict, outputs: dict, name: str = "graph") -> tuple[onnx.ModelProto, list]:
    """Convert ``model``; ``inputs``/``outputs`` map TF tensor names to ONNX names.

    Returns the ONNX model and a list of the batch rewrites applied (for the record).
    """
    conv = Converter(model, inputs, outputs, name)
    result = conv.convert()
    return result, conv.rewrites
