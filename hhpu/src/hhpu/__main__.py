from hhpu.cli import main

main()
