"""The ground floor: helpers that know nothing of the rest of mmkeras.

- `validation`: argument checks with "Received: ..." errors.
- `input_check`: `check_inputs(model, x, y)`, data against a model's inputs.
- `tf_logging`: TensorFlow's start-up log lines kept quiet.
- `timing`: the median time of a call.
- `training_state`: a model's optimizer and metrics built before `fit`, so that
  TensorFlow traces the train step once.
- `layer_names`: the names `build_model` gives the layers of the models it builds.
"""
