"""cocotb testbenches of the generated Verilog and their bus models (see ``sim/README.md``);
installed with the project so that the simulator process imports them by package name."""
