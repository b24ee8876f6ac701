"""Drop-in replacements for other provenance libraries' logging calls, recorded by
yprov-workflows (`yprov_workflows.compat.yprov4ml`: yProv4ML 3.x)."""
