"""Running a trained model on audio files: File2Structure and friends.

    from edm.inference.pipeline import File2Structure
    analyzer = File2Structure.from_checkpoint("outputs/run/best.pt")
    structure = analyzer("track.wav")          # a TrackStructure

The pipeline imports torch. Which checkpoint a model reference names is the registry's
business (:mod:`edm.registry.refs`). Nothing here imports training code.
"""
