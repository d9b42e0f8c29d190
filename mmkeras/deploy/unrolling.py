"""Models with LSTM/GRU layers rebuilt so that they convert to TFLite with builtin ops.

How a model reaches TFLite (`deployment_path` names it):

- `"builtin"`: no recurrent layer; the SavedModel converts with builtin ops
  as it is.
- `"unrolled"`: LSTM/GRU layers (also inside `Bidirectional`) need
  TensorFlow's TensorList ops, which builtin TFLite lacks. The model is
  rebuilt from its config with `unroll=True` and fixed sequence lengths, the
  weights are copied, and the unrolled copy converts with builtin ops. The
  weights are stored once; the graph repeats the cell's ops once per step.
"""

import copy

from mmkeras.models.task import Task

_RECURRENT = ("LSTM", "GRU", "SimpleRNN")


def functional_network(model):
    """The plain functional model inside a `Task` (whose config holds it), or `model`."""
    return model.network if isinstance(model, Task) else model


def _walk(node, visit):
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def recurrent_layers(model):
    """Names of the LSTM/GRU/SimpleRNN layers anywhere in `model` (nested ones included)."""
    found = []
    model = functional_network(model)

    def visit(node):
        if node.get("class_name") in _RECURRENT and isinstance(node.get("config"), dict):
            found.append(node["config"].get("name"))

    _walk(model.get_config(), visit)
    return found


def deployment_path(model):
    """`"unrolled"` for a model with recurrent layers, else `"builtin"`."""
    return "unrolled" if recurrent_layers(model) else "builtin"


def input_shapes_of(model):
    """`{input name: shape without the batch axis}` of a model's inputs."""
    return {t.name: tuple(t.shape[1:]) for t in model.inputs}


def _fixed_shapes(model, input_shapes):
    """Every input's shape without the batch axis, with no `None` left."""
    shapes = input_shapes_of(model)
    input_shapes = dict(input_shapes or {})
    unknown = sorted(set(input_shapes) - set(shapes))
    if unknown:
        raise ValueError(f"Unknown inputs in input_shapes. Received: {unknown}; "
                         f"the model's inputs are {sorted(shapes)}")
    fixed = {}
    for name, shape in shapes.items():
        given = tuple(input_shapes.get(name, shape))
        compatible = len(given) == len(shape) and all(
            s is None or s == g for s, g in zip(shape, given))
        if not compatible or any(g is None for g in given):
            raise ValueError(
                f"Input {name!r} of shape {shape} needs a fixed shape to be unrolled. Received: "
                f"input_shapes[{name!r}]={input_shapes.get(name)}; pass e.g. "
                f"input_shapes={{{name!r}: {tuple(100 if s is None else s for s in shape)}}} "
                "(pad or cut the sequences to that length).")
        fixed[name] = given
    return fixed


def _source_layer(argument):
    """The layer name a serialised functional call argument comes from, if one tensor."""
    if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__":
        return argument["config"]["keras_history"][0]
    return None


def _fix_functional(config, shapes):
    """Sets unroll=True on recurrent layers and fixed shapes on InputLayers, recursively."""
    for layer in config.get("layers", []):
        name, inner = layer["config"].get("name"), layer["config"]
        if layer["class_name"] == "InputLayer" and name in shapes:
            inner["batch_shape"] = [None, *shapes[name]]
        elif layer["class_name"] in ("Functional", "Model") and "input_layers" in inner:
            nodes = layer.get("inbound_nodes") or []
            args = nodes[0]["args"] if nodes else []
            args = args[0] if len(args) == 1 and isinstance(args[0], list) else args
            sources = [_source_layer(a) for a in args]
            own = [entry[0] for entry in _as_list(inner["input_layers"])]
            _fix_functional(inner, {o: shapes[s] for o, s in zip(own, sources) if s in shapes})

    def unroll(node):
        if node.get("class_name") in _RECURRENT and isinstance(node.get("config"), dict):
            node["config"]["unroll"] = True

    _walk(config, unroll)


def _as_list(input_layers):
    if input_layers and isinstance(input_layers[0], str):
        return [input_layers]
    if isinstance(input_layers, dict):
        return list(input_layers.values())
    return list(input_layers)


def deployable_model(model, input_shapes=None):
    """A copy of `model` that converts to TFLite with builtin ops, and its path.

    A model without recurrent layers is returned as it is (`"builtin"`). A
    model with LSTM/GRU layers is rebuilt from its config with `unroll=True`
    and every sequence input fixed to a length, and gets `model`'s weights
    (`"unrolled"`); its outputs equal `model`'s on inputs of that length.

    Args:
        model: A functional Keras model (any mmkeras model).
        input_shapes: Dict `{input name: shape without the batch axis}` for
            inputs whose length is `None` (e.g. `{"audio": (92, 13)}`).

    Returns:
        `(model, path)`.
    """
    import keras

    model = functional_network(model)
    if not recurrent_layers(model):
        return model, "builtin"
    shapes = _fixed_shapes(model, input_shapes)
    config = copy.deepcopy(keras.saving.serialize_keras_object(model))
    _fix_functional(config["config"], shapes)
    try:
        unrolled = keras.saving.deserialize_keras_object(config)
    except ValueError as err:
        raise ValueError(f"Could not unroll {model.name!r} at input shapes {shapes}: {err}") from err
    unrolled.set_weights(model.get_weights())
    _keep_backward_outputs(unrolled)
    return unrolled, "unrolled"


def _keep_backward_outputs(model):
    """Turns off `zero_output_for_mask` on unrolled backward RNNs.

    Keras' unrolled loop zeroes a backward RNN's masked outputs with the mask
    in forward order (so it zeroes real steps too); `Bidirectional` forces the
    flag on. Without it the backward RNN repeats its previous output on masked
    steps, which for right-padded sequences (mmkeras pads on the right) is the
    initial zero state: the same outputs as the non-unrolled layer.
    """
    for layer in getattr(model, "layers", []):
        _keep_backward_outputs(layer)
        for rnn in (layer, getattr(layer, "forward_layer", None),
                    getattr(layer, "backward_layer", None)):
            if getattr(rnn, "go_backwards", False) and getattr(rnn, "unroll", False):
                rnn.zero_output_for_mask = False

