"""Model providers, named ``provider/model`` as instructor names them, plus the simulator."""
