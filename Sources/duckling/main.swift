print("duckling")
