using System;
using FlashMoe.Profiles;

namespace GeneratorDemo;

internal static class Program
{
    private static int Main()
    {
        FlashMoeProfile laptop = FlashMoeProfiles.Laptop;
        Console.WriteLine($"{laptop.Name}: {laptop.Hardware.RamGiB} GiB RAM, {FlashMoeProfiles.All.Count} valid profile(s)");
        return 0;
    }
}
