"""The code of every edm MLflow model (models-from-code): MLflow runs this file to load one.

It only names the model class; the weights come from the model's ``checkpoint`` artifact.
"""

from mlflow.models import set_model

from edm.inference.pyfunc import StructureModel

set_model(StructureModel())
