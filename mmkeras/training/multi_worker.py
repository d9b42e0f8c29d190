"""Training on several machines with MultiWorkerMirroredStrategy.

Keras 3 `fit` does not run under MultiWorkerMirroredStrategy (keras-team/keras
#20585: "Attempt to convert a value (PerReplica…) to a Tensor"), so this is a
custom training step under `strategy.run`: each worker computes gradients on
its shard of the global batch, they are all-reduced, and every worker applies
the same update.

How to run: start the same script on every machine with `TF_CONFIG` set, e.g.
for worker 0 of two (worker 1 has `"index": 1`):

    export TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                       "task": {"type": "worker", "index": 0}}'
    python my_training_script.py

Inside the script, call `train_multi_worker(build_fn, dataset_fn, ...)`. Only
the TensorFlow backend supports this.
"""


def train_multi_worker(build_fn, dataset_fn, epochs=1, global_batch_size=64,
                       learning_rate=1e-3, strategy=None):
    """Trains a model built by `build_fn()` on every worker, in sync.

    Args:
        build_fn: Returns an (uncompiled is fine) Keras model with softmax outputs.
        dataset_fn: `dataset_fn(global_batch_size)` returns a `tf.data.Dataset`
            of `(x, y)` batches of the global batch size, the same on every
            worker (it is sharded automatically).
        epochs: Passes over the data.
        global_batch_size: Samples per step over all workers together.
        learning_rate: Adam learning rate.
        strategy: A strategy to use instead of one made from `TF_CONFIG`.

    Returns:
        `(model, losses)`: the trained model and the mean loss of each epoch,
        averaged over all workers (identical on every worker).
    """
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("Multi-worker training needs KERAS_BACKEND=tensorflow. Received: "
                           f"{keras.backend.backend()!r}")
    strategy = strategy or tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_fn()
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    data = strategy.experimental_distribute_dataset(dataset_fn(global_batch_size))

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                probabilities = model(x, training=True)
                per_example = loss_fn(y, probabilities)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    losses = []
    for _ in range(epochs):
        total, steps = 0.0, 0
        for x, y in data:
            total += float(train_step(x, y))
            steps += 1
        losses.append(total / max(steps, 1))
    return model, losses
