"""Generated gRPC / protobuf code for the multimargin.v1 wire contract.

Everything in this folder is generated from proto/multimargin/v1/*.proto by
``scripts/gen_proto.py``; never edit it by hand. Change the .proto files and
rerun the script instead (tests/service/test_proto_contract.py checks for drift).
"""
