"""What compliance staff see inside the Airflow UI: view models (:mod:`aimsflow.ui.views`), the pages
rendered from them (:mod:`aimsflow.ui.pages`) and the FastAPI app that serves them behind Airflow's
own authentication (:mod:`aimsflow.ui.app`, mounted by ``plugins/aimsflow_ui.py``)."""
