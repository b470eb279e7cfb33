from imgorigin.cli import main

main()
