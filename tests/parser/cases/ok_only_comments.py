# nothing
   # here
