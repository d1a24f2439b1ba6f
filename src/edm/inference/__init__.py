"""Running a trained model on audio files: File2Structure and friends, model references.

    from edm.inference.pipeline import File2Structure
    analyzer = File2Structure.from_checkpoint("outputs/run/best.pt")
    structure = analyzer("track.wav")          # a TrackStructure

The pipeline imports torch; :mod:`edm.inference.model_ref` does not (nor MLflow, until a
registry reference is resolved). Nothing here imports training code.
"""
